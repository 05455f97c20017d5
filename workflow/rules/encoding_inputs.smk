# Input functions of the encoding stage (included by encoding.smk when the stage is activated;
# rule files hold rules only).


def enc_task_runs(wildcards):
    subject = ENC_PLAN.subjects.get(wildcards.esub)
    if subject is None:
        raise ValueError(
            f"encoding.task: {wildcards.esub} is not a subject of the planned task "
            f"runs ({len(ENC_PLAN.subjects)} subjects, e.g. {next(iter(ENC_PLAN.subjects))})"
        )
    return subject.runs
