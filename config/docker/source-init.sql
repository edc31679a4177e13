-- Runs once when the source MariaDB container is created: the changefeed's replication user and a
-- small database to play with.
CREATE USER 'storagecdc'@'%' IDENTIFIED BY 'storagecdc-password';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO 'storagecdc'@'%';
CREATE DATABASE shop;
CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, balance DECIMAL(12,2));
INSERT INTO shop.customers VALUES (1, 'Ada', 10.00), (2, 'Grace', 20.50);
