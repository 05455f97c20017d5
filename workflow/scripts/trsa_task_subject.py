"""Snakemake adapter: one subject's task fMRI (trsa.task): the run-wise first-level GLM of
every run, then the crossnobis RDM per atlas region across those runs."""
from neuroflow.rsa.taskfmri import glm_run_files, subject_rdm_file
from neuroflow.rulelog import redirect_to_log

sm = snakemake
p, inp, out = sm.params, sm.input, sm.output
n_runs = len(out.betas)
confounds = list(inp.confounds) or [""] * n_runs
for i in range(n_runs):
    with redirect_to_log(sm.log.glm[i]):
        glm_run_files(inp.bold[i], inp.mask[i], inp.events[i], confounds[i], out.betas[i],
                      out.residuals[i], out.json[i], conditions=list(p.conditions),
                      hrf_model=p.hrf_model, high_pass=p.high_pass, noise_model=p.noise_model,
                      confounds_strategy=p.confounds["strategy"],
                      confounds_options=dict(p.confounds["options"]),
                      dropped_conditions=list(p.dropped_conditions), simulated=p.simulated)
with redirect_to_log(sm.log.rdm):
    labels = inp.labels if isinstance(inp.labels, str) else ""
    subject_rdm_file(list(out.betas), list(out.residuals), list(out.json), list(inp.mask),
                     inp.atlas, labels, out.nc, conditions=list(p.conditions),
                     noise_method=p.noise_method, entities=dict(p.entities),
                     min_voxels=p.min_voxels)
