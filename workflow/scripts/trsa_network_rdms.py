"""Snakemake adapter: train the SIMULATED network instances and write their layer RDMs."""

from neuroflow.rsa.pipeline import network_rdms_file
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    net = dict(sm.params.networks)
    network_rdms_file(
        sm.output.nc,
        n_instances=net["n_instances"],
        conv_channels=list(net["conv_channels"]),
        fc_units=list(net["fc_units"]),
        epochs=net["epochs"],
        batch_size=net["batch_size"],
        learning_rate=net["learning_rate"],
        stimuli_per_class=net["stimuli_per_class"],
        rdm_method=net["rdm_method"],
        random_state=sm.params.random_state,
    )
