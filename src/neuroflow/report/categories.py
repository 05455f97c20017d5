"""Report category names, in pipeline order (the one place they are defined).

Snakemake's report lists categories and subcategories sorted by name, so each name starts
with its position in the pipeline; the rule files use ``REPORT_CATEGORY[stage]`` (made
available by ``workflow/rules/common.smk``) and the methods page its section titles.
"""

from __future__ import annotations

# stage -> category of the Snakemake report (sorted by name = pipeline order; at most 9)
REPORT_CATEGORY = {
    "fmri": "1 fMRI preprocessing",
    "eeg": "2 EEG preprocessing",
    "connectome": "3 Connectome homogenization",
    "activity": "4 Neural activity and structure-function",
    "fc": "5 FC benchmark and core-set selection",
    "bicluster": "6 Bayesian bi-clustering",
    "trsa": "7 Topological RSA",
    "encoding": "8 Encoding models",
    "methods": "9 Methods and citations",
}


def section_title(stage: str) -> str:
    """A stage's category name without its ordering number (the methods page's heading)."""
    return REPORT_CATEGORY[stage].split(" ", 1)[1]
