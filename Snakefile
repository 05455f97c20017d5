# neuroflow: a declarative pipeline for computational-neuroscience analyses.
# Table of contents only; every stage lives in workflow/rules/<stage>.smk.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/homogenize.smk"
include: "workflow/rules/activity.smk"
include: "workflow/rules/fmri.smk"
include: "workflow/rules/eeg.smk"
include: "workflow/rules/fc.smk"
include: "workflow/rules/bicluster.smk"
include: "workflow/rules/trsa.smk"
include: "workflow/rules/encoding.smk"
include: "workflow/rules/report.smk"


# Each rule gets a hash of the package modules its script runs (neuroflow.codestamp), so an
# edit of the package reruns exactly the rules whose code changed (params rerun trigger).
stamp_rules(workflow.rules)


rule all:
    input:
        all_targets(),
    default_target: True
