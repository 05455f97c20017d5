# Stage 'bicluster': Bayesian bi-clustering of spike counts (Wei 2023; issue 7).
# Per recording (the activity stage's counts file, or a SIMULATED one): take the counts, run
# each MCMC chain as its own job, then merge the chains into posterior summaries,
# diagnostics and figures. The activity stage is the one reader of spike files.
from neuroflow.activity.inputs import SUBDIR_PATTERN, stems_pattern
from neuroflow.bicluster.inputs import bicluster_recordings, use_numba_cache


# The stage's defaults (workflow/schemas/bicluster.schema.yaml) filled into its section.
validate(config.setdefault("bicluster", {}), schema="../schemas/bicluster.schema.yaml")

# numba's on-disk cache of the sampler's kernels, shared by every job and later run (the
# jobs inherit the environment; the chain script sets it again for jobs started elsewhere).
use_numba_cache(config)


if is_activated("bicluster"):

    BIC = config["bicluster"]
    BIC_RECS = bicluster_recordings(config, MANIFEST, Path(workflow.basedir))
    BIC_SIMS = sorted(k for k, v in BIC_RECS.items() if "simulate" in v)
    BIC_ACT = sorted(k for k, v in BIC_RECS.items() if "activity" in v)
    BIC_CHAINS = list(range(BIC["chains"]))
    BIC_CATEGORY = REPORT_CATEGORY["bicluster"]
    BIC_PREFIX = f"{R}/{{subdir}}/ephys/{{stem}}"
    BIC_FIGS = f"{R}/{{subdir}}/figures/{{stem}}"
    BIC_STEMS = stems_pattern(BIC_RECS)

    wildcard_constraints:
        chain="[0-9]+",

    if BIC_ACT:

        rule bicluster_counts:
            input:
                nc=rules.activity_counts.output.nc,
            output:
                nc=f"{BIC_PREFIX}_desc-binned_counts.nc",
            log:
                f"{LOGS}/bicluster/{{subdir}}/{{stem}}_counts.log",
            params:
                spec=lambda wc: BIC_RECS[wc.stem],
            wildcard_constraints:
                subdir=SUBDIR_PATTERN,
                stem=stems_pattern(BIC_ACT),
            threads: 1
            resources:
                mem_mb=by_attempt(1000),
                runtime=by_attempt(5),
            conda:
                "../../envs/bicluster.yaml"
            script:
                "../scripts/bicluster_counts.py"

    if BIC_SIMS:

        rule bicluster_simulate:
            output:
                nc=f"{BIC_PREFIX}_desc-binned_counts.nc",
            log:
                f"{LOGS}/bicluster/{{subdir}}/{{stem}}_simulate.log",
            params:
                spec=lambda wc: BIC_RECS[wc.stem],
            wildcard_constraints:
                subdir=SUBDIR_PATTERN,
                stem=stems_pattern(BIC_SIMS),
            threads: 1
            resources:
                mem_mb=by_attempt(1000),
                runtime=by_attempt(10),
            conda:
                "../../envs/bicluster.yaml"
            script:
                "../scripts/bicluster_counts.py"

    rule bicluster_chain:
        input:
            nc=f"{BIC_PREFIX}_desc-binned_counts.nc",
        output:
            nc=f"{BIC_PREFIX}_chain-{{chain}}_desc-bicluster_mcmc.nc",
        log:
            f"{LOGS}/bicluster/{{subdir}}/{{stem}}_chain-{{chain}}.log",
        params:
            sampler=BIC["sampler"],
            seed=BIC["seed"],
        wildcard_constraints:
            subdir=SUBDIR_PATTERN,
            stem=BIC_STEMS,
        threads: 1
        resources:
            mem_mb=by_attempt(2000),
            runtime=by_attempt(240),
        conda:
            "../../envs/bicluster.yaml"
        script:
            "../scripts/bicluster_chain.py"


    rule bicluster_merge:
        input:
            chains=expand(f"{BIC_PREFIX}_chain-{{chain}}_desc-bicluster_mcmc.nc",
                          chain=BIC_CHAINS, allow_missing=True),
            counts=f"{BIC_PREFIX}_desc-binned_counts.nc",
        output:
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
            f"{LOGS}/bicluster/{{subdir}}/{{stem}}_merge.log",
        params:
            loss=BIC["loss"],
            state_loss=BIC["state_loss"],
            n_shuffles=BIC["n_shuffles"],
            seed=BIC["seed"],
            convergence=BIC["convergence"],
        wildcard_constraints:
            subdir=SUBDIR_PATTERN,
            stem=BIC_STEMS,
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(30),
        conda:
            "../../envs/bicluster.yaml"
        script:
            "../scripts/bicluster_merge.py"


    STAGE_TARGETS.extend(
        f"{R}/{spec['subdir']}/ephys/{stem}_desc-bicluster_{what}"
        for stem, spec in BIC_RECS.items()
        for what in ("posterior.nc", "diagnostics.tsv", "validation.tsv"))
