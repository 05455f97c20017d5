# Stage 'bicluster': Bayesian bi-clustering of spike counts (Wei 2023; issue 7).
# Per recording (the activity stage's counts file, or a SIMULATED one), one job: take the
# counts, run the MCMC chains side by side, then merge them into posterior summaries,
# diagnostics and figures. The activity stage is the one reader of spike files.
from neuroflow.activity.inputs import SUBDIR_PATTERN, counts_path, recording_of
from neuroflow.bicluster.inputs import bicluster_recordings, use_numba_cache

# The stage's defaults (workflow/schemas/bicluster.schema.yaml) filled into its section.
validate(config.setdefault("bicluster", {}), schema="../schemas/bicluster.schema.yaml")

# numba's on-disk cache of the sampler's kernels, shared by every job and later run (the
# jobs inherit the environment; the recording script sets it again for jobs started elsewhere).
use_numba_cache(config)


if is_activated("bicluster"):

    BIC = config["bicluster"]
    BIC_RECS = bicluster_recordings(config, MANIFEST, Path(workflow.basedir))
    BIC_CHAINS = list(range(BIC["chains"]))
    BIC_CATEGORY = REPORT_CATEGORY["bicluster"]
    BIC_PREFIX = f"{R}/{{subdir}}/ephys/{{stem}}"
    BIC_FIGS = f"{R}/{{subdir}}/figures/{{stem}}"
    # no constraint listing the recordings (Snakemake would rescan it for every job): no
    # other rule writes these names; recording_of names an unknown recording
    BIC_STEMS = r"[^/]+"

    # One job per recording: its counts (the activity stage's counts file, or a SIMULATED
    # one), every MCMC chain (side by side in `threads` worker processes, each from its own
    # seed stream, so the files are those of one job per chain), then the merge.
    rule bicluster_recording:
        input:
            counts=fixed_params(
                lambda wc: (
                    [counts_path(R, spec)]
                    if "activity" in (spec := recording_of(BIC_RECS, wc.subdir, wc.stem))
                    else []
                )
            ),
        output:
            counts=f"{BIC_PREFIX}_desc-binned_counts.nc",
            chains=expand(
                f"{BIC_PREFIX}_chain-{{chain}}_desc-bicluster_mcmc.nc", chain=BIC_CHAINS, allow_missing=True
            ),
            nc=f"{BIC_PREFIX}_desc-bicluster_posterior.nc",
            diagnostics=report(
                f"{BIC_PREFIX}_desc-bicluster_diagnostics.tsv",
                caption="../report/bicluster_diagnostics.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "diagnostics table"},
            ),
            clusters=f"{BIC_PREFIX}_desc-bicluster_clusters.tsv",
            validation=report(
                f"{BIC_PREFIX}_desc-bicluster_validation.tsv",
                caption="../report/bicluster_validation.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "agreement with known labels"},
            ),
            raster=report(
                f"{BIC_FIGS}_desc-raster_bicluster.png",
                caption="../report/bicluster_raster.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "raster sorted by cluster"},
            ),
            states=report(
                f"{BIC_FIGS}_desc-states_bicluster.png",
                caption="../report/bicluster_states.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "state ribbon"},
            ),
            coclustering=report(
                f"{BIC_FIGS}_desc-coclustering_bicluster.png",
                caption="../report/bicluster_coclustering.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "co-clustering"},
            ),
            traces=report(
                f"{BIC_FIGS}_desc-traces_bicluster.png",
                caption="../report/bicluster_traces.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "MCMC traces"},
            ),
            latents=report(
                f"{BIC_FIGS}_desc-latents_bicluster.png",
                caption="../report/bicluster_latents.rst",
                category=BIC_CATEGORY,
                subcategory="{stem}",
                labels={"recording": "{stem}", "figure": "latent trajectories"},
            ),
            diagnostics_json=f"{BIC_PREFIX}_desc-bicluster_diagnostics.json",
            clusters_json=f"{BIC_PREFIX}_desc-bicluster_clusters.json",
            validation_json=f"{BIC_PREFIX}_desc-bicluster_validation.json",
        log:
            counts=f"{LOGS}/bicluster/{{subdir}}/{{stem}}_counts.log",
            chains=expand(
                f"{LOGS}/bicluster/{{subdir}}/{{stem}}_chain-{{chain}}.log",
                chain=BIC_CHAINS,
                allow_missing=True,
            ),
            merge=f"{LOGS}/bicluster/{{subdir}}/{{stem}}_merge.log",
        params:
            spec=fixed_params(lambda wc: recording_of(BIC_RECS, wc.subdir, wc.stem)),
            sampler=BIC["sampler"],
            seed=BIC["seed"],
            loss=BIC["loss"],
            state_loss=BIC["state_loss"],
            n_shuffles=BIC["n_shuffles"],
            convergence=BIC["convergence"],
        wildcard_constraints:
            subdir=SUBDIR_PATTERN,
            stem=BIC_STEMS,
        threads: len(BIC_CHAINS)
        resources:
            mem_mb=by_attempt(max(4000, 2000 * len(BIC_CHAINS))),
            runtime=by_attempt(275),
        conda:
            "../../envs/bicluster.yaml"
        script:
            "../scripts/bicluster_recording.py"

    STAGE_TARGETS.extend(
        f"{R}/{spec['subdir']}/ephys/{stem}_desc-bicluster_{what}"
        for stem, spec in BIC_RECS.items()
        for what in ("posterior.nc", "diagnostics.tsv", "validation.tsv")
    )
