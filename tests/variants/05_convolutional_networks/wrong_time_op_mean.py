"""Wrong: time_op returns the mean of the timed calls, not their median (one slow call pulls it)."""

MUST_FAIL = ["test_time_op_median_without_warm_up"]
CELLS = {
    "cuda_tools": '''import statistics
import time


def time_op(fn, device, repeats=10):
    """Median wall time (seconds) of fn() over `repeats` calls after one warm-up call; waits for
    CUDA to finish before starting and before stopping each clock."""
    device = torch.device(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()  # warm-up: kernel loading, allocation, cudnn's algorithm search
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return float(statistics.mean(times))


def to_device(batch, device, non_blocking=False):
    """`batch` with every tensor (nested in lists, tuples and dicts) moved to `device`."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {key: to_device(value, device, non_blocking) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, device, non_blocking) for value in batch)
    return batch
''',
}
