"""Alternative: receptive_field measured, not computed: backpropagate from one output unit of a
1-D stack of all-ones convolutions and count the input pixels that receive gradient;
to_device with isinstance dispatch written as a loop over dict items; time_op with
statistics.median over a list comprehension of timings."""

MUST_FAIL: list[str] = []
CELLS = {
    "receptive_field": '''def receptive_field(layers):
    """Receptive field (input pixels along one axis) of one output unit of a stack of
    (kernel_size, stride, dilation) layers."""
    if not layers:
        return 1
    bound = 1
    jump = 1
    for k, s, d in layers:  # an upper bound on the field, to size the input
        bound += (k - 1) * d * jump
        jump *= s
    length = bound + 2 * jump + 2
    convs = [nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False) for k, s, d in layers]
    for conv in convs:
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    out = nn.Sequential(*convs).double()(x)
    out[0, 0, out.shape[-1] // 2].backward()
    hit = x.grad[0, 0].nonzero()
    return int(hit.max() - hit.min() + 1)
''',
    "cuda_tools": '''import statistics
import time


def time_op(fn, device, repeats=10):
    """Median wall time (seconds) of fn() over `repeats` calls after one warm-up call; waits for
    CUDA to finish before starting and before stopping each clock."""
    device = torch.device(device)
    wait = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)

    def once():
        wait()
        start = time.perf_counter()
        fn()
        wait()
        return time.perf_counter() - start

    fn()
    return statistics.median([once() for _ in range(repeats)])


def to_device(batch, device, non_blocking=False):
    """`batch` with every tensor (nested in lists, tuples and dicts) moved to `device`."""
    if torch.is_tensor(batch):
        return batch.to(device=device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        out = {}
        for key, value in batch.items():
            out[key] = to_device(value, device, non_blocking)
        return out
    if isinstance(batch, tuple):
        return tuple(to_device(v, device, non_blocking) for v in batch)
    if isinstance(batch, list):
        return [to_device(v, device, non_blocking) for v in batch]
    return batch
''',
}
