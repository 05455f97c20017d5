"""Wildcard constraints of rules that share output patterns (planning speed, issue 17)."""

import re

from neuroflow.config import group_constraints, keys_regex
from neuroflow.schema_docs import load_schema
from neuroflow.workflow_files import workflow_root


def test_largest_group_is_generic_and_smaller_groups_match_exactly_their_keys():
    groups = {
        None: ["sub-01_ses-1_task-rest_run-1", "sub-01_ses-1_task-rest_run-2"],
        "1": [f"sub-{i:03d}_task-rest" for i in range(2, 50)],
        "2": ["sub-a.b_task-x"],
    }
    regexes, generic = group_constraints(groups)
    assert generic == "1" and regexes["1"] == r"[^/]+"
    shared = re.compile(regexes[None])
    assert all(shared.fullmatch(k) for k in groups[None])
    assert not shared.fullmatch("sub-01_ses-1_task-rest_run-3")
    dotted = re.compile(regexes["2"])  # keys are escaped: "." is no wildcard
    assert dotted.fullmatch("sub-a.b_task-x") and not dotted.fullmatch("sub-aXb_task-x")
    assert group_constraints({}) == ({}, None)
    assert keys_regex([]) == "(?!)" and not re.fullmatch(keys_regex([]), "")


def test_schema_parsed_once_but_each_caller_gets_its_own_copy():
    path = workflow_root() / "workflow" / "schemas" / "eeg.schema.yaml"
    first = load_schema(path)
    first["properties"].clear()
    again = load_schema(path)
    assert again["properties"] and again == load_schema(str(path))
