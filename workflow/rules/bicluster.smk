# Stage 'bicluster': Bayesian bi-clustering of spike counts (Wei 2023; issue 7).
# Per recording (an NWB units table or a SIMULATED one): bin counts, run each MCMC chain as
# its own job, then merge the chains into posterior summaries, diagnostics and figures.
from neuroflow.bicluster.pipeline import recording_inputs, recording_spec


if is_activated("bicluster"):

    BIC = config["bicluster"]
    BIC_RECS = sorted(BIC["recordings"])
    BIC_CHAINS = list(range(BIC.get("chains", 2)))
    BIC_CATEGORY = "Bayesian bi-clustering"
    BIC_PREFIX = f"{R}/sub-{{rec}}/ephys/sub-{{rec}}"
    BIC_FIGS = f"{R}/sub-{{rec}}/figures/sub-{{rec}}"

    wildcard_constraints:
        rec="[A-Za-z0-9]+",
        chain="[0-9]+",

    rule bicluster_counts:
        input:
            nwb=lambda wc: recording_inputs(config, MANIFEST, wc.rec),
        output:
            nc=f"{BIC_PREFIX}_desc-binned_counts.nc",
        log:
            f"{LOGS}/bicluster/sub-{{rec}}_counts.log",
        params:
            spec=lambda wc: recording_spec(config, MANIFEST, wc.rec),
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
            nc=rules.bicluster_counts.output.nc,
        output:
            nc=f"{BIC_PREFIX}_chain-{{chain}}_desc-bicluster_mcmc.nc",
        log:
            f"{LOGS}/bicluster/sub-{{rec}}_chain-{{chain}}.log",
        params:
            sampler=BIC.get("sampler", {}),
            seed=BIC.get("seed", 2023),
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
            counts=rules.bicluster_counts.output.nc,
        output:
            nc=f"{BIC_PREFIX}_desc-bicluster_posterior.nc",
            diagnostics=report(
                f"{BIC_PREFIX}_desc-bicluster_diagnostics.tsv",
                caption="../report/bicluster_diagnostics.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "diagnostics table"},
            ),
            clusters=f"{BIC_PREFIX}_desc-bicluster_clusters.tsv",
            validation=report(
                f"{BIC_PREFIX}_desc-bicluster_validation.tsv",
                caption="../report/bicluster_validation.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "agreement with known labels"},
            ),
            raster=report(
                f"{BIC_FIGS}_desc-raster_bicluster.png",
                caption="../report/bicluster_raster.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "raster sorted by cluster"},
            ),
            states=report(
                f"{BIC_FIGS}_desc-states_bicluster.png",
                caption="../report/bicluster_states.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "state ribbon"},
            ),
            coclustering=report(
                f"{BIC_FIGS}_desc-coclustering_bicluster.png",
                caption="../report/bicluster_coclustering.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "co-clustering"},
            ),
            traces=report(
                f"{BIC_FIGS}_desc-traces_bicluster.png",
                caption="../report/bicluster_traces.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "MCMC traces"},
            ),
            latents=report(
                f"{BIC_FIGS}_desc-latents_bicluster.png",
                caption="../report/bicluster_latents.rst",
                category=BIC_CATEGORY,
                subcategory="{rec}",
                labels={"recording": "{rec}", "figure": "latent trajectories"},
            ),
        log:
            f"{LOGS}/bicluster/sub-{{rec}}_merge.log",
        params:
            loss=BIC.get("loss", "binder"),
            state_loss=BIC.get("state_loss", "pear"),
            n_shuffles=BIC.get("n_shuffles", 1000),
            seed=BIC.get("seed", 2023),
        threads: 1
        resources:
            mem_mb=by_attempt(4000),
            runtime=by_attempt(30),
        conda:
            "../../envs/bicluster.yaml"
        script:
            "../scripts/bicluster_merge.py"


    STAGE_TARGETS.extend(
        expand(f"{BIC_PREFIX}_desc-bicluster_{{what}}", rec=BIC_RECS,
               what=["posterior.nc", "diagnostics.tsv", "validation.tsv"]))
