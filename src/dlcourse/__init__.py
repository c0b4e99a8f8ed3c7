"""Deep Learning with PyTorch: course tooling (data, build, worker, judge, gradebook, feedback, cli)."""

__version__ = "0.1.0"
