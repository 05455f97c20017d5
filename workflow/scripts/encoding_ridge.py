"""Snakemake adapter: nested cross-validated ridge-family encoding model of one design."""
from neuroflow.encoding.pipeline import ridge_files
from neuroflow.rulelog import redirect_to_log

with redirect_to_log(snakemake.log[0]):
    sm = snakemake
    p = sm.params
    ridge_files(sm.input.design, sm.output.nc, sm.output.tsv, sm.output.png,
                experiment=p.experiment, lags_s=list(p.lags_s), model=p.model,
                alphas=list(p.alphas), n_folds=p.n_folds or None,
                n_inner_folds=p.n_inner_folds, n_iter=p.n_iter,
                permutation=dict(p.permutation), noise_ceiling=dict(p.noise_ceiling),
                device=p.device, backend=p.backend, n_targets_batch=p.n_targets_batch or None,
                random_state=p.random_state, threads=sm.threads)
