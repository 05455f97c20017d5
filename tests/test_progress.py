"""Progress lines of long jobs (neuroflow.progress): the rate and ETA under a fake clock, the
steady cadence (every 10 % or 30 s, whichever first), the stderr a rule script redirects to
its log, and the lines the MCMC chain, SCLCS training and the encoding network write."""

import logging
import re

import numpy as np
import pytest

from neuroflow.progress import LOGGER_NAME, Progress, format_duration, progress_logger


class FakeClock:
    """Seconds that advance only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def record(total, seconds_per_step, **kw):
    """Run a meter over ``total`` steps of ``seconds_per_step``; (time, line) of each line."""
    clock = FakeClock()
    meter = Progress(total, "sweep", "chain 0", clock=clock, logger=logging.getLogger("t"), **kw)
    lines = []
    for done in range(1, total + 1):
        clock.now += seconds_per_step
        line = meter.update(done)
        if line is not None:
            lines.append((clock.now, line))
    return lines


def test_format_duration():
    assert format_duration(0.4) == "0 s"
    assert format_duration(45) == "45 s"
    assert format_duration(130) == "2 min 10 s"
    assert format_duration(3600 + 5 * 60 + 59) == "1 h 05 min"


def test_a_fast_loop_reports_every_tenth_with_rate_and_eta():
    lines = record(2000, 0.1)  # 10 sweeps/s: 200 sweeps take 20 s < 30 s
    assert [t for t, _ in lines] == pytest.approx([20.0 * k for k in range(1, 11)])
    assert lines[1][1] == "chain 0: sweep 400/2000 (20 %), 10 sweeps/s, ETA 2 min 40 s"
    assert lines[-1][1] == "chain 0: sweep 2000/2000 (100 %), 10 sweeps/s, done in 3 min 20 s"


def test_a_slow_loop_reports_at_least_every_30_seconds_and_at_every_tenth():
    lines = record(1000, 1.0)  # 1 sweep/s: a tenth takes 100 s > 30 s
    times = np.array([0.0] + [t for t, _ in lines])
    assert np.diff(times).max() <= 30
    done = [int(re.search(r"sweep (\d+)/", line).group(1)) for _, line in lines]
    assert done[:5] == [30, 60, 90, 100, 130]
    assert set(range(100, 1001, 100)) <= set(done)
    assert lines[0][1] == "chain 0: sweep 30/1000 (3 %), 1 sweeps/s, ETA 16 min 10 s"


def test_slower_than_one_step_a_second_shows_seconds_per_step():
    lines = record(10, 4.0, every_fraction=0.5)
    assert lines[0][1] == "chain 0: sweep 5/10 (50 %), 4 s/sweep, ETA 20 s"


def test_eta_follows_the_mean_rate_when_the_speed_changes():
    clock = FakeClock()
    meter = Progress(100, "epoch", "train", clock=clock, logger=logging.getLogger("t"))
    clock.now = 10.0
    assert meter.update(10) == "train: epoch 10/100 (10 %), 1 epochs/s, ETA 1 min 30 s"
    clock.now = 15.0  # the next 10 epochs took 5 s: 20 in 15 s
    assert (
        meter.update(20, "loss 0.5") == "train: epoch 20/100 (20 %), 1.33 epochs/s, ETA 1 min 0 s; loss 0.5"
    )


def test_bad_settings_name_the_job():
    with pytest.raises(ValueError, match="progress of chain 3"):
        Progress(0, "sweep", "chain 3")
    with pytest.raises(ValueError, match="every_fraction"):
        Progress(10, "sweep", "chain 3", every_fraction=0)


def test_lines_go_to_the_job_log_a_rule_script_redirected_to(tmp_path):
    """rulelog.redirect_to_log swaps sys.stderr after the logger was made: lines follow it."""
    from neuroflow.rulelog import redirect_to_log

    logger = progress_logger()
    assert progress_logger().handlers == logger.handlers  # one handler, however often
    with redirect_to_log(tmp_path / "job.log"):
        Progress(2, "sweep", "redirected job").update(2)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d redirected job: sweep 2/2 \(100 %\), .*\n",
        (tmp_path / "job.log").read_text(),
    )


def progress_lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]


def test_the_mcmc_chain_logs_its_sweeps(caplog):
    from neuroflow.bicluster.sampler import run_chain
    from neuroflow.bicluster.settings import SamplerSettings
    from neuroflow.bicluster.simulate import simulate_bicluster

    counts = simulate_bicluster(n_clusters=2, neurons_per_cluster=3, n_time=40, random_state=0)[
        "counts"
    ].values
    settings = SamplerSettings.from_dict({"n_iter": 4, "burn_in": 2})
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        run_chain(counts, settings, random_state=1, label="bi-clustering chain 1 (sim)")
    lines = progress_lines(caplog)
    assert [re.search(r"sweep (\d+)/4", m).group(1) for m in lines] == ["1", "2", "3", "4"]
    assert lines[0].startswith("bi-clustering chain 1 (sim): sweep 1/4 (25 %)")
    assert "ETA" in lines[0] and "done in" in lines[-1] and "neuron clusters" in lines[-1]


def test_sclcs_training_logs_its_epochs_and_its_result_does_not_depend_on_logging(caplog):
    from neuroflow.fc.sclcs import train_sps

    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 4, 10))
    subjects = np.repeat(["a", "b", "c"], 4)
    kw = dict(seed=0, epochs=10, batch_subjects=3, heads=2, dim=4, log=lambda m: None)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        a = train_sps(X, subjects, **kw)
    lines = progress_lines(caplog)
    assert [re.search(r"epoch (\d+)/10", m).group(1) for m in lines] == [str(e) for e in range(1, 11)]
    assert lines[0].startswith("SCLCS training, seed 0 (12 samples, cpu): epoch 1/10 (10 %)")
    assert all("loss" in m for m in lines)
    logging.getLogger(LOGGER_NAME).disabled = True
    try:
        b = train_sps(X, subjects, **kw)
    finally:
        logging.getLogger(LOGGER_NAME).disabled = False
    np.testing.assert_array_equal(a["sps"], b["sps"])
    np.testing.assert_array_equal(a["loss"], b["loss"])


def test_the_encoding_network_logs_its_epochs(caplog):
    from neuroflow.encoding.attention import simulate_routing, train_routing_encoder
    from neuroflow.encoding.settings import NetworkSettings, TrainingSettings

    sim = simulate_routing(n_stimuli=20, random_state=3)
    network = NetworkSettings(
        d_model=8, n_heads=2, dim_feedforward=8, dropout=0.1, n_layers=1, temperature=10000.0
    )
    training = TrainingSettings(
        epochs=2,
        batch_size=8,
        learning_rate=3e-3,
        weight_decay=1e-4,
        grad_clip=0.1,
        lr_step=100,
        validation_fraction=0.2,
    )
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        train_routing_encoder(
            sim["features"],
            sim["responses"],
            sim["regions"],
            np.arange(15),
            network=network,
            training=training,
            device="cpu",
            random_state=0,
        )
    lines = progress_lines(caplog)
    assert [m.split(";")[0].split(", ")[0] for m in lines] == [
        "encoding network training (cpu): epoch 1/2 (50 %)",
        "encoding network training (cpu): epoch 2/2 (100 %)",
    ]
    assert "validation mean r" in lines[-1]
