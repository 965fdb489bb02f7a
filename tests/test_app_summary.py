"""AppTest: the published summary page and the commitments page."""

from __future__ import annotations

from facilitator.models import Quote, StatementCoverage
from tests.retro_helpers import app_page, demo_register_text, make_service, seeded_retro, use_engine


def test_published_summary_is_read_only_with_downloads():
    svc = make_service()
    c, _ = seeded_retro(svc, people=3, to_phase="publish")
    pub = svc.publish(c.retro_id, approved=True, rev=svc.preview(c.retro_id).rev)
    at = app_page("summary", s=pub.id).run()
    assert not at.exception
    assert at.title[0].value == "Sprint 42"
    assert {m.label for m in at.metric} == {"Themes", "Fears raised", "Trust gaps", "Actions"}
    assert len(at.get("vega_lite_chart")) == 2
    assert [b.label for b in at.get("download_button")] == [
        "Download PDF", "Download Markdown", "Download JSON", "Download actions (CSV)"]
    assert not at.text_input and not at.checkbox  # nothing to edit
    assert not any("Person" in m.value for m in at.markdown)  # no card text


def test_unknown_summary_link():
    at = app_page("summary", s="nope").run()
    assert "No published summary" in at.error[0].value


class _Coverer:
    name = "fake"

    def cover(self, statements, register, *, today):
        c = register.get("JS-1")
        return [StatementCoverage(statement=s, status="partial", commitment_ids=["JS-1"],
                                  quotes=[Quote(commitment_id="JS-1", text=c.text[:60])], rationale="needs 3 years")
                for s in statements]


def test_commitments_edit_versions_stale_and_question(monkeypatch):
    svc = make_service()
    at = app_page("commitments").run()
    assert any("No register yet" in i.value for i in at.info)
    # Changing the register needs the owner key: none exists yet, so the first owner creates it.
    assert not any(x.key == "reg_text" for x in at.text_area)
    at.button(key="owner_gate:create").click().run()
    assert any("shown only now" in x.value for x in at.success)
    at.text_area(key="reg_text").input(demo_register_text())
    at.button(key="save_text").click().run()
    assert not at.exception
    assert [v.version for v in svc.registers()] == ["v1"]
    assert "1 commitment is not in force" in at.warning[0].value and "and is not used" in at.warning[0].value  # RO-1
    assert "1 commitment is past the review date: still in force" in at.warning[1].value  # JS-2
    use_engine(monkeypatch, _Coverer())
    at.text_area(key="question").input("Will automating my job make me redundant?")
    at.button(key="ask").click().run()
    assert any(w.value == "Partly covered" for w in at.warning), [w.value for w in at.warning]
    # The offline answer: candidates with their limits beside them, never a verdict.
    from facilitator.wiring import get_engine

    use_engine(monkeypatch, get_engine(engine="local"))
    at.button(key="ask").click().run()
    assert any(i.value.startswith("Needs review") for i in at.info), [i.value for i in at.info]
    assert any(x.value.startswith("Does not promise:") for x in at.caption)
    assert any("JS-1" in m.value for m in at.markdown)
    at.text_area(key="reg_text").input("## broken")
    at.button(key="save_text").click().run()
    assert any("is not a commitment heading" in e.value for e in at.error), [e.value for e in at.error]
    assert [v.version for v in svc.registers()] == ["v1"]  # the broken text was not stored


def test_settings_page_is_for_admins_and_hides_passwords(monkeypatch):
    svc = make_service()
    admin_key = svc.create_role_key("admin")
    monkeypatch.setenv("RETRO_DATABASE_URL", f"sqlite:///{svc.db.url.split('///', 1)[1]}")
    at = app_page("settings").run()
    assert not at.exception and not at.dataframe  # locked until the admin key is given
    at.text_input(key="admin_gate:input").input("not the key")
    at.button[0].click().run()
    assert not at.dataframe and "not the admin key" in at.warning[0].value
    at.text_input(key="admin_gate:input").input(admin_key)
    at.button[0].click().run()
    assert at.dataframe
    # Unlocked, the page shows every setting with secrets masked.
    monkeypatch.setenv("RETRO_DATABASE_URL", "postgresql+psycopg://u:hunter2@127.0.0.1:1/x")
    from facilitator.settings import get_settings

    get_settings.cache_clear()
    at.run()  # the same session: the admin role is kept, the database is not needed to show settings
    values = at.dataframe[0].value.set_index("setting")["value"]
    assert values["RETRO_DATABASE_URL"] == "postgresql+psycopg://u:***@127.0.0.1:1/x"


def _two_teams_published(svc):
    for team in ("Dispatch", "Billing"):
        c, _ = seeded_retro(svc, people=3, to_phase="publish", team=team)
        svc.publish(c.retro_id, approved=True, rev=svc.preview(c.retro_id).rev)


def test_trust_gap_board_is_for_owners_and_takes_an_answer(monkeypatch):
    monkeypatch.setenv("RETRO_MIN_PARTICIPANTS", "3")
    svc = make_service(min_participants=3)
    _two_teams_published(svc)
    owner_key = svc.create_role_key("owner")
    at = app_page("gaps").run()
    assert not at.exception and not at.metric  # locked until the owner key is given
    at.text_input(key="gaps_gate:input").input(owner_key)
    at.button[0].click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric} == {"Open gaps": "2", "Groups": "1", "Answered groups": "0"}
    assert any("About Worries" in m.value for m in at.markdown)
    assert not any("Person" in str(d.value) for d in at.dataframe)  # no card text
    assert len(at.get("vega_lite_chart")) == 2 and len(at.get("download_button")) == 2
    at.radio(key="kind:0").set_value("will_not_promise")
    at.button(key="FormSubmitter:answer:0-Save the answer").click().run()
    assert any("Write the reason" in e.value for e in at.error)
    at.radio(key="kind:0").set_value("will_not_promise")
    at.text_area(key="text:0").input("Headcount targets are set yearly; we will not promise a freeze.")
    at.text_input(key="role:0").input("COO")
    at.button(key="FormSubmitter:answer:0-Save the answer").click().run()
    assert not at.exception
    assert [(a.kind, a.owner_role) for a in svc.gap_answers()] == [("will_not_promise", "COO")]
    assert any("Not something we will promise by COO" in s.value for s in at.success)
    assert {m.label: m.value for m in at.metric}["Answered groups"] == "1"


def test_the_answer_opens_the_team_s_next_retro():
    from tests.test_app_facilitator import _console

    svc = make_service(min_participants=3)
    _two_teams_published(svc)
    g = svc.gap_board().groups[0]
    svc.answer_gaps(g.commitment_id, g.topic, kind="written", text="We will *report* quarterly.", owner_role="HR")
    nxt = svc.create_retro(team="Dispatch", title="Sprint 43", columns=["A"], register_id=None)
    at = _console(nxt).run()
    assert any(i.value.startswith("You asked about: About Worries. HR answered on") and "\\*report\\*" in i.value
               for i in at.info), [i.value for i in at.info]
    item = next(i for i in svc.carryover(nxt.retro_id) if i.kind == "escalate")
    at.button(key=f"close:{item.id}").click().run()
    assert {i.id: i.status for i in svc.carryover(nxt.retro_id)}[item.id] == "done"


def test_a_facilitator_sees_the_team_s_own_gaps_and_answers(monkeypatch):
    from tests.test_app_facilitator import _console

    monkeypatch.setenv("RETRO_MIN_PARTICIPANTS", "3")
    svc = make_service(min_participants=3)
    _two_teams_published(svc)
    g = svc.gap_board().groups[0]
    svc.answer_gaps(g.commitment_id, g.topic, kind="written", text="Quarterly report to the works council.",
                    owner_role="HR")
    nxt = svc.create_retro(team="Dispatch", title="Sprint 43", columns=["A"], register_id=None)
    at = _console(nxt).run()
    exp = next(e for e in at.expander if e.label.startswith("Trust gaps your team raised before"))
    assert "(0 open)" in exp.label
    assert any("HR answered on" in m.value and "works council" in m.value for m in exp.markdown)
