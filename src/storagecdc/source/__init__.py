"""Everything that knows binlog bytes: files, the live server, schemas, transactions."""
