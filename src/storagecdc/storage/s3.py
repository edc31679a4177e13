"""``s3://bucket/prefix`` through boto3: the only module of the project that imports boto3 or botocore.

- Credentials: explicit options, else boto3's normal chain (environment, profile, instance role...).
- Retries: boto3's own retries are off; every call goes through ``retry.call_with_retry`` (throttling,
  5xx, connection errors), bounded by ``S3Options.retry_deadline``. Non-retryable errors (access denied,
  missing bucket, bad credentials) fail at once with one clear message naming the bucket and key.
- Create-only writes use ``If-None-Match: *``. Whether the store honours it is probed once per store (a
  probe object written twice, then deleted); where it does not, a HEAD/GET check precedes the write. A
  412 answer can be the store rejecting our own retry of a PUT that already landed, so the object is read
  back and identical bytes count as success.
- Objects of ``multipart_threshold`` bytes or more are uploaded in parts (``If-None-Match`` on
  CompleteMultipartUpload where the store honours it, the HEAD/GET check before it where it does not).
- botocore's and urllib3's loggers are held at INFO unless the application set their level: their DEBUG
  records print signed request headers (the access key id, ``x-amz-security-token``), so ``--log-level
  debug`` would leak credentials (and dwarf storagecdc's own records).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3  # type: ignore[import-untyped, unused-ignore]
import botocore.config  # type: ignore[import-untyped, unused-ignore]
import botocore.exceptions  # type: ignore[import-untyped, unused-ignore]

from storagecdc.errors import ConfigError, ObjectExistsError, ObjectNotFoundError, StorageError
from storagecdc.storage.base import ObjectInfo, check_key
from storagecdc.storage.retry import RetryPolicy, call_with_retry
from storagecdc.storage.s3_options import S3Options

T = TypeVar("T")

_THROTTLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
                             "TooManyRequests", "RequestTimeout", "InternalError", "ServiceUnavailable",
                             "ConditionalRequestConflict", "OperationAborted", "BadDigest", "IncompleteBody",
                             "XAmzContentSHA256Mismatch"})
_CREDENTIAL_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                               "TokenRefreshRequired", "InvalidSecurity", "AuthorizationHeaderMalformed"})
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_RETRYABLE_TRANSPORT = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError,
                        botocore.exceptions.IncompleteReadError, ConnectionError, TimeoutError)


_CHATTY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def _hold_third_party_logs_at_info() -> None:
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)


_hold_third_party_logs_at_info()


class S3StorageError(StorageError):
    """A ``StorageError`` from S3 that carries the S3 error code (``code``) for callers that care."""

    code: str = ""


class _PreconditionFailed(Exception):
    """A conditional request answered 412 (internal; never escapes this module)."""


def _drop_expect_for_empty_body(request: Any, **_: Any) -> None:
    """botocore sends ``Expect: 100-continue`` even with an empty body; some servers (SeaweedFS) then
    leave the connection in a state where the next answer is misread. An empty body needs no 100."""
    if str(request.headers.get("Content-Length", "")) == "0" and "Expect" in request.headers:
        del request.headers["Expect"]


class S3Store:
    """An ``ObjectStore`` on one bucket and key prefix."""

    def __init__(self, bucket: str, prefix: str = "", options: S3Options | None = None) -> None:
        if not bucket:
            raise ConfigError("s3 URI needs a bucket: s3://bucket/prefix")
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._opts = options or S3Options()
        self._policy = RetryPolicy(deadline_s=self._opts.retry_deadline)
        self._conditional: bool | None = self._opts.conditional_writes
        self._ordered: bool | None = None
        self._probe_lock = threading.Lock()
        self._secrets = tuple(s for s in (self._opts.access_key, self._opts.secret_access_key,
                                          self._opts.session_token) if s)
        session = boto3.session.Session(
            aws_access_key_id=self._opts.access_key,
            aws_secret_access_key=self._opts.secret_access_key,
            aws_session_token=self._opts.session_token,
            region_name=self._opts.region,
        )
        config = botocore.config.Config(
            region_name=self._opts.region or session.region_name or "us-east-1",
            s3={"addressing_style": "path" if self._opts.force_path_style else "auto"},
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=self._opts.connect_timeout,
            read_timeout=self._opts.read_timeout,
            max_pool_connections=32,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client: Any = session.client("s3", endpoint_url=self._opts.endpoint, config=config)
        self._client.meta.events.register("before-send.s3", _drop_expect_for_empty_body)

    @property
    def display_uri(self) -> str:
        uri = f"s3://{self._bucket}/{self._prefix}" if self._prefix else f"s3://{self._bucket}"
        return f"{uri}?endpoint={self._opts.endpoint}" if self._opts.endpoint else uri

    @property
    def bucket(self) -> str:
        return self._bucket

    def _full_dir(self, prefix: str) -> str:
        return f"{self._prefix}/{prefix}" if self._prefix else prefix

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self._prefix}/{key}" if self._prefix else key

    # -- error mapping -------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _where(self, key: str) -> str:
        return f"key {key!r} in bucket {self._bucket!r} ({self.display_uri})" if key else self.display_uri

    def _map(self, exc: Exception, what: str, key: str) -> StorageError:
        """One clear ``StorageError`` for a boto3/botocore failure; never includes credentials."""
        where = self._where(key)
        if isinstance(exc, botocore.exceptions.ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _NOT_FOUND_CODES or (status == 404 and code not in ("NoSuchBucket", "NoSuchUpload")):
                return ObjectNotFoundError(f"{what}: object not found: {where}")
            if code == "NoSuchBucket":
                failure = S3StorageError(f"{what}: bucket {self._bucket!r} does not exist ({self.display_uri})")
            elif code in _CREDENTIAL_CODES:
                failure = S3StorageError(f"{what}: the S3 credentials were rejected ({code}): {where}")
            elif code in ("AccessDenied", "AllAccessDisabled") or status == 403:
                failure = S3StorageError(f"{what}: access denied: {where}")
            elif code in _THROTTLE_CODES or status == 429 or status >= 500:
                failure = S3StorageError(f"{what}: S3 answered {code or status}: {where}",
                                     retryable=True)
            else:
                message = self._scrub(str(err.get("Message", "")))[:200]
                failure = S3StorageError(f"{what}: S3 error {code or status} {message!r}: {where}")
            failure.code = code
            return failure
        if isinstance(exc, botocore.exceptions.EndpointConnectionError):
            return StorageError(f"{what}: cannot reach the S3 endpoint {self._opts.endpoint or 'AWS'}: "
                                f"{where}", retryable=True)
        if isinstance(exc, _RETRYABLE_TRANSPORT):
            return StorageError(f"{what}: connection error ({type(exc).__name__}): {where}", retryable=True)
        if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
            return StorageError(f"{what}: no usable AWS credentials found (set access-key/secret-access-key "
                                f"or configure the AWS credential chain): {where}")
        return StorageError(f"{what}: {type(exc).__name__}: {self._scrub(str(exc))[:200]}: {where}")

    def _call(self, what: str, key: str, fn: Callable[[], T], *, conditional: bool = False) -> T:
        """Run one S3 request with the project's retry loop; 412 on a conditional request is raised as
        ``_PreconditionFailed`` (not retried)."""

        def attempt() -> T:
            try:
                return fn()
            except botocore.exceptions.ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                code = exc.response.get("Error", {}).get("Code")
                if conditional and (status == 412 or code == "PreconditionFailed"):
                    raise _PreconditionFailed from None
                raise self._map(exc, what, key) from None
            except (botocore.exceptions.BotoCoreError, ConnectionError, TimeoutError) as exc:
                raise self._map(exc, what, key) from None

        return call_with_retry(attempt, self._policy)

    # -- capability probes -------------------------------------------------------------------------

    def conditional_writes(self) -> bool:
        """Whether the store honours ``If-None-Match: *`` (probed once, then cached)."""
        with self._probe_lock:
            if self._conditional is None:
                self._conditional = self._probe_conditional()
            return self._conditional

    def _require_bucket(self) -> None:
        """Fail with one clear error before a probe would write into a missing bucket (some servers create
        buckets on the first write)."""
        try:
            self._call("check bucket", "", functools.partial(self._client.head_bucket, Bucket=self._bucket))
        except ObjectNotFoundError:
            raise S3StorageError(f"bucket {self._bucket!r} does not exist ({self.display_uri})") from None

    def _probe_conditional(self) -> bool:
        self._require_bucket()
        key = f"_storagecdc/probe-{secrets.token_hex(8)}"
        full = self._full(key)
        try:
            for body in (b"1", b"2"):
                try:
                    self._call("probe conditional write", key, functools.partial(
                        self._client.put_object, Bucket=self._bucket, Key=full, Body=body, IfNoneMatch="*"),
                        conditional=True)
                except _PreconditionFailed:
                    return True
                except S3StorageError as exc:
                    if exc.code in ("NotImplemented", "InvalidArgument", "InvalidRequest"):
                        return False
                    raise
            return False
        finally:
            self.delete(key)

    def ordered_listing(self) -> bool:
        """Whether a flat listing comes back in S3's key order (some servers walk directories instead, so
        ``a/b`` comes before ``a-b``); probed once with two objects, then cached."""
        with self._probe_lock:
            if self._ordered is None:
                self._require_bucket()
                base = f"_storagecdc/probe-{secrets.token_hex(8)}/"
                keys = [base + "a/b", base + "a-b"]
                try:
                    for key in keys:
                        self.put(key, b"")
                    self._ordered = [o.key for o in self._flat_list(base)] == sorted(keys)
                finally:
                    for key in keys:
                        self.delete(key)
                    for marker in (base + "a/", base):  # directory markers some servers leave behind
                        with contextlib.suppress(StorageError):
                            self._call("delete", marker, functools.partial(
                                self._client.delete_object, Bucket=self._bucket, Key=self._full_dir(marker)))
            return self._ordered

    # -- reads ---------------------------------------------------------------------------------------

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        full = self._full(key)

        def read() -> tuple[bytes, str]:
            resp = self._client.get_object(Bucket=self._bucket, Key=full)
            return resp["Body"].read(), str(resp.get("ETag", ""))

        return self._call("read", key, read)

    def get(self, key: str) -> bytes:
        return self.get_versioned(key)[0]

    def _head_etag(self, key: str) -> str | None:
        full = self._full(key)
        try:
            resp = self._call("head", key, lambda: self._client.head_object(Bucket=self._bucket, Key=full))
        except ObjectNotFoundError:
            return None
        return str(resp.get("ETag", ""))

    def exists(self, key: str) -> bool:
        return self._head_etag(key) is not None

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        if self.ordered_listing():
            return self._flat_list(prefix)
        return self._tree_list(prefix)

    def _pages(self, what: str, prefix: str, **extra: str) -> Iterator[dict[str, Any]]:
        base = f"{self._prefix}/" if self._prefix else ""
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self._bucket, "Prefix": base + prefix, **extra}
            if token:
                args["ContinuationToken"] = token
            page: dict[str, Any] = self._call(what, prefix, functools.partial(self._client.list_objects_v2,
                                                                               **args))
            yield page
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def _flat_list(self, prefix: str) -> Iterator[ObjectInfo]:
        cut = len(self._prefix) + 1 if self._prefix else 0
        for page in self._pages("list", prefix):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):  # a directory marker, never one of our keys
                    yield ObjectInfo(obj["Key"][cut:], int(obj["Size"]))

    def _tree_list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Key order from a server that lists directory by directory: one level at a time, each level
        sorted with sub-prefixes compared as ``name/`` (memory bounded by one level's size)."""
        cut = len(self._prefix) + 1 if self._prefix else 0
        entries: list[tuple[str, int | None]] = []
        for page in self._pages("list", prefix, Delimiter="/"):
            entries.extend((o["Key"][cut:], int(o["Size"])) for o in page.get("Contents", [])
                           if not o["Key"].endswith("/"))
            entries.extend((p["Prefix"][cut:], None) for p in page.get("CommonPrefixes", []))
        entries.sort(key=lambda e: e[0])
        for key, size in entries:
            if size is None:
                yield from self._tree_list(key)
            else:
                yield ObjectInfo(key, size)

    # -- writes --------------------------------------------------------------------------------------

    def _write_args(self) -> dict[str, str]:
        args: dict[str, str] = {}
        if self._opts.sse:
            args["ServerSideEncryption"] = self._opts.sse
        if self._opts.sse_kms_key_id:
            args["SSEKMSKeyId"] = self._opts.sse_kms_key_id
        if self._opts.storage_class:
            args["StorageClass"] = self._opts.storage_class
        return args

    def _existing_matches(self, key: str, data: bytes) -> bool | None:
        """None when the object does not exist, else whether its bytes equal ``data``."""
        try:
            return self.get(key) == data
        except ObjectNotFoundError:
            return None

    def _exists_error(self, key: str) -> ObjectExistsError:
        return ObjectExistsError(f"object already exists with different content: {self._where(key)}")

    def put(self, key: str, data: bytes, *, create_only: bool = False) -> None:
        data = bytes(data)
        full = self._full(key)
        conditional = create_only and self.conditional_writes()
        check_first = create_only and not conditional
        try:
            if len(data) >= self._opts.multipart_threshold:
                if check_first:
                    same = self._existing_matches(key, data)
                    if same is not None:
                        if same:
                            return
                        raise self._exists_error(key)
                self._put_multipart(key, full, data, conditional)
                return
            extra: dict[str, str] = self._write_args()
            if conditional:
                extra["IfNoneMatch"] = "*"
            md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()

            def attempt() -> None:
                # Without conditional writes, every attempt (a retry too: the previous one may have
                # landed with its answer lost) first looks for the object.
                if check_first and self._raw_existing_matches(key, full, data):
                    return
                self._client.put_object(Bucket=self._bucket, Key=full, Body=data, ContentMD5=md5, **extra)

            self._call("write", key, attempt, conditional=conditional)
        except _PreconditionFailed:
            if self._existing_matches(key, data):
                return
            raise self._exists_error(key) from None

    def _raw_existing_matches(self, key: str, full: str, data: bytes) -> bool:
        """Inside a retried attempt: True if the object exists with ``data``; ``ObjectExistsError`` if it
        exists with other bytes; False if absent. botocore errors propagate to the caller's mapping."""
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=full)
        except botocore.exceptions.ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return False
            raise
        if int(head.get("ContentLength", -1)) == len(data) and \
                self._client.get_object(Bucket=self._bucket, Key=full)["Body"].read() == data:
            return True
        raise self._exists_error(key)

    def _put_multipart(self, key: str, full: str, data: bytes, conditional: bool) -> None:
        created = self._call("start multipart upload", key, lambda: self._client.create_multipart_upload(
            Bucket=self._bucket, Key=full, **self._write_args()))
        upload_id = created["UploadId"]
        try:
            size = self._opts.part_size

            def upload(number: int) -> dict[str, Any]:
                chunk = data[(number - 1) * size:number * size]
                md5 = base64.b64encode(hashlib.md5(chunk, usedforsecurity=False).digest()).decode()
                resp = self._call(f"upload part {number}", key, functools.partial(
                    self._client.upload_part, Bucket=self._bucket, Key=full, UploadId=upload_id,
                    PartNumber=number, Body=chunk, ContentMD5=md5))
                return {"ETag": resp["ETag"], "PartNumber": number}

            count = -(-len(data) // size)
            with ThreadPoolExecutor(max_workers=max(1, min(self._opts.upload_concurrency, count))) as pool:
                parts = list(pool.map(upload, range(1, count + 1)))
            extra = {"IfNoneMatch": "*"} if conditional else {}
            try:
                self._call("complete multipart upload", key, lambda: self._client.complete_multipart_upload(
                    Bucket=self._bucket, Key=full, UploadId=upload_id,
                    MultipartUpload={"Parts": parts}, **extra), conditional=conditional)
            except S3StorageError as exc:
                # An earlier attempt completed the upload but its answer was lost.
                if exc.code == "NoSuchUpload" and self._existing_matches(key, data):
                    return
                raise
        except BaseException:
            self._abort(key, full, upload_id)
            raise

    def _abort(self, key: str, full: str, upload_id: str) -> None:
        # A failed abort leaves an upload that the store's lifecycle rules clean up; the original error wins.
        with contextlib.suppress(StorageError):
            self._call("abort multipart upload", key, lambda: self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=full, UploadId=upload_id))

    def delete(self, key: str) -> None:
        full = self._full(key)
        with contextlib.suppress(ObjectNotFoundError):
            self._call("delete", key, lambda: self._client.delete_object(Bucket=self._bucket, Key=full))

    def put_if_version(self, key: str, data: bytes, version: str | None) -> str:
        data = bytes(data)
        full = self._full(key)
        if not self.conditional_writes():
            if self._head_etag(key) != version:
                raise ObjectExistsError(f"conditional write failed, the object changed: {self._where(key)}")
            self.put(key, data)
            return self.get_versioned(key)[1]
        cond = {"IfNoneMatch": "*"} if version is None else {"IfMatch": version}
        try:
            resp = self._call("conditional write", key, lambda: self._client.put_object(
                Bucket=self._bucket, Key=full, Body=data, **cond, **self._write_args()),
                conditional=True)
        except _PreconditionFailed:
            # Our own earlier attempt may have landed and its answer been lost.
            try:
                current, etag = self.get_versioned(key)
            except ObjectNotFoundError:
                current, etag = b"", ""
            if etag and current == data:
                return etag
            raise ObjectExistsError(f"conditional write failed, the object changed: {self._where(key)}") \
                from None
        except ObjectNotFoundError:
            raise ObjectExistsError(f"conditional write failed, the object is gone: {self._where(key)}") \
                from None
        return str(resp.get("ETag", ""))

    def close(self) -> None:
        self._client.close()


def create_bucket(bucket: str, options: S3Options) -> None:
    """Create ``bucket`` (for local test servers and the demo); an existing bucket of ours is fine."""
    store = S3Store(bucket, "", options)
    try:
        store._call("create bucket", "", functools.partial(store._client.create_bucket, Bucket=bucket))
    except S3StorageError as exc:
        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    finally:
        store.close()
