"""``python -m storagecdc.snapshot.reader_process FD``: the entry point of a snapshot reader process
(``snapshot.process_reader``); a module of its own so that running it does not import that module twice."""

import multiprocessing.connection
import signal
import sys

from storagecdc.snapshot.process_reader import ProcessSide
from storagecdc.snapshot.workers import serve

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the changefeed stops us
    serve(ProcessSide(multiprocessing.connection.Connection(int(sys.argv[1]))))
