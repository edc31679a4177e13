"""Local servers for the demo, tests and benchmarks: MariaDB, moto and SeaweedFS on loopback."""
