# Input functions of the encoding stage (included by encoding.smk when the stage is activated;
# rule files hold rules only).


def enc_task_runs(wildcards):
    return ENC_PLAN.subjects[wildcards.esub].runs
