# storagecdc in a container, for docker-compose.yml (not used by the tests).
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --create-home storagecdc
USER storagecdc
ENTRYPOINT ["storagecdc"]
