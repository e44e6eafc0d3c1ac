"""The scenario reference page is generated from the schema and kept in step."""

from pathlib import Path

from normflow.reference import render

DOC = Path(__file__).resolve().parents[1] / "docs" / "scenario-reference.md"


def test_scenario_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "run: python -m normflow.reference > docs/scenario-reference.md"
    )


def test_every_numeric_parameter_has_a_documentation_line():
    from normflow import scenario as sc
    from normflow.schema import describe

    for cls in (
        sc.InformationParams,
        sc.AccountabilityParams,
        sc.AgendaParams,
        sc.NegotiationParams,
        sc.StanceParams,
        sc.BacklashParams,
        sc.State,
        sc.Legislature,
    ):
        for row in describe(cls):
            if row["type"] in ("float", "int"):
                assert row["doc"], f"{cls.__name__}.{row['name']} has no doc"
