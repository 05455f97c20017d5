# Input functions of the trsa stage (included by trsa.smk when the stage is activated;
# rule files hold rules only).


@functools.cache
def _trsa_haxby_plan(root):
    return plan_haxby_task(config, root)


def trsa_plan(key):
    """The plan (cohort or Haxby demo) that holds a run / subject / group key."""
    if key in TRSA_PLAN.runs or key in TRSA_PLAN.subjects or key in TRSA_PLAN.groups:
        return TRSA_PLAN
    return _trsa_haxby_plan(checkpoints.trsa_haxby_bids.get().output.root)


def trsa_task_runs(wildcards):
    return trsa_plan(wildcards.tsub).subjects[wildcards.tsub].runs


def trsa_setting(name, wildcard):
    return fixed_params(lambda w: trsa_plan(getattr(w, wildcard)).settings[name])


def trsa_layout_subject(layout, wildcards):
    """The cohort subject (TaskSubject) of a job of the layout's rule."""
    key = layout.subject.format(tlabel=wildcards.tlabel)
    if key not in TRSA_PLAN.subjects:  # the unconstrained layout's rule matches any label
        raise ValueError(f"trsa.task: {key} is not a subject of the planned task runs")
    return TRSA_PLAN.subjects[key]


def trsa_layout_runs(layout, name):
    """Input function: one file per run of the subject (confounds: none when not used)."""
    return fixed_params(
        lambda w: [getattr(r, name) for r in trsa_layout_subject(layout, w).runs if getattr(r, name)]
    )


def trsa_layout_group(layout, name):
    """Params function: a setting of the subject's group (its conditions)."""
    return fixed_params(lambda w: list(getattr(TRSA_PLAN.group_of[trsa_layout_subject(layout, w).key], name)))


def trsa_layout_entities(layout):
    return fixed_params(lambda w: trsa_layout_subject(layout, w).entities)
