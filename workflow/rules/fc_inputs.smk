# Input functions of the fc stage (included by fc.smk when the stage is activated;
# rule files hold rules only).


def fc_files(bench_id):
    return benchmark_inputs(config, MANIFEST, R, bench_id)


def fc_bench_setting(key, default):
    """A benchmark's own window_length / window_stride, else the fc-wide one."""
    return lambda wc: FC["benchmarks"][wc.bench].get(key) or default
