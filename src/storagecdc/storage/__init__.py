"""The output format shared by sink and consumer, and the object stores (the only boto3 user)."""
