"""rtstyle: real-time video stylization (runtime core).

Importing the package sets OpenMP's wait policy to passive unless the user chose one
(``OMP_WAIT_POLICY``), which only takes effect when it happens before torch is first imported:
every ``rtstyle`` command imports this package first.  By default the OpenMP threads behind
torch's operators keep spinning on their cores after each operator, waiting for the next one, and
on a small CPU those are the cores the capture, decode, display and ONNX Runtime threads of a live
frame need (bench/RESULTS.md, "threads fighting over two cores").
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
