"""Wrong: time_op returns the mean of the timed calls, not their median (one slow call pulls it)."""

MUST_FAIL = ["test_time_op_median_without_warm_up"]
EDITS = {"cuda_tools": [("statistics.median(times)", "statistics.mean(times)")]}
