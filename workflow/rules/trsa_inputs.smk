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
    return lambda w: trsa_plan(getattr(w, wildcard)).settings[name]
