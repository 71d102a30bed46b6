"""The reviewer's list (fagvurderers arbeidsliste): open work first, a filter by round, pages, and the landing after
login; its cost in SQL statements does not grow with the number of applications."""

import re

from sqlalchemy import select

from grants.extensions import db
from grants.review import operations as ops
from grants.review import queries
from grants.review.models import Assignment
from grants.rounds.operations import set_criteria
from tests.factories import RoundFactory
from tests.second_factor import pass_second_factor
from tests.web.test_review import in_review


def assigned(round_, people, reviewer="r1", declared=True, **kwargs):
    """An application in review assigned to ``reviewer``, who has declared no conflict (unless ``declared`` is
    False)."""
    application = in_review(round_, people, **kwargs)
    ops.assign(application, people[reviewer], people["caseworker"])
    if declared:
        ops.declare(application, people[reviewer], conflict=False)
    return application


def scored(application, round_, people, reviewer="r1"):
    values = {criterion.id: 5 for criterion in round_.criteria}
    ops.save_review(application, people[reviewer], values=values, comments={}, recommendation="grant", submit=True)


def references(page):
    return re.findall(r'href="/saksbehandling/soknader/\d+(?:/habilitet)?">([^<]+)</a><br>', page)


def test_open_work_comes_before_what_the_reviewer_has_scored(client, login_as, people, round_):
    first = assigned(round_, people)
    second = assigned(round_, people)
    waiting = assigned(round_, people, declared=False)
    scored(first, round_, people)
    assigned(round_, people, reviewer="r2")  # someone else's
    db.session.commit()

    login_as(people["r1"])
    page = client.get("/saksbehandling/mine").get_data(as_text=True)
    assert references(page) == [second.reference, waiting.reference, first.reference]
    assert f'href="/saksbehandling/soknader/{second.id}/vurdering"' in page
    assert f'href="/saksbehandling/soknader/{waiting.id}/habilitet"' in page
    assert f'href="/saksbehandling/soknader/{first.id}/vurdering"' not in page  # scored: nothing left to do


def test_the_list_shows_the_rounds_with_open_work_and_filters_by_round(client, login_as, people, round_):
    other = RoundFactory(title_nb="Tidligere runde", title_nn="Tidlegare runde", title_en="Earlier round")
    set_criteria(other, [{"code": "purpose", "weight": 1, "title_nb": "Formål", "title_nn": "Føremål",
                          "title_en": "Purpose"}])
    db.session.flush()
    ops.add_round_reviewer(other, people["r1"], people["caseworker"])
    done = assigned(other, people)
    scored(done, other, people)
    open_ = assigned(round_, people)
    db.session.commit()

    login_as(people["r1"])
    page = client.get("/saksbehandling/mine").get_data(as_text=True)
    assert references(page) == [open_.reference]  # the default: only rounds with work left
    assert '<select' in page and 'name="runde"' in page
    assert "Tidligere runde (0 av 1 igjen å vurdere)" in page
    assert references(client.get("/saksbehandling/mine?runde=all").get_data(as_text=True)) == [
        open_.reference, done.reference]
    assert references(client.get(f"/saksbehandling/mine?runde={other.id}").get_data(as_text=True)) == [
        done.reference]
    for nonsense in ("nonsense", "\u00b2", "\u0663", "99999999999999999999", "-1"):  # ² and Arabic 3 are digits
        assert client.get("/saksbehandling/mine", query_string={"runde": nonsense, "side": "x"}).status_code == 200


def test_with_no_open_work_the_list_shows_every_round(client, login_as, people, round_):
    done = assigned(round_, people)
    scored(done, round_, people)
    db.session.commit()
    login_as(people["r1"])
    assert references(client.get("/saksbehandling/mine").get_data(as_text=True)) == [done.reference]


def test_the_list_is_paged_with_an_accessible_page_nav(client, login_as, people, round_):
    made = [assigned(round_, people) for _ in range(queries.PAGE_SIZE + 2)]
    db.session.commit()
    login_as(people["r1"])
    page = client.get("/saksbehandling/mine").get_data(as_text=True)
    assert len(references(page)) == queries.PAGE_SIZE
    assert '<nav aria-label="Sider">' in page
    assert '<span aria-current="page">Side 1</span>' in page and "side=2" in page
    second = client.get("/saksbehandling/mine?runde=open&side=2").get_data(as_text=True)
    assert references(second) == [a.reference for a in made[queries.PAGE_SIZE:]]
    assert '<span aria-current="page">Side 2</span>' in second


def test_the_list_is_in_the_pages_language(client, login_as, people, round_):
    assigned(round_, people)
    db.session.commit()
    login_as(people["r1"])
    for lang, words in (("nn", ("Mine fagvurderingar", "Mangfald og mot rasisme 2025")),
                        ("en", ("My reviews", "Diversity and against racism 2025"))):
        client.post("/sprak", data={"lang": lang})
        page = client.get("/saksbehandling/mine").get_data(as_text=True)
        assert all(word in page for word in words), lang


def test_a_reviewer_lands_on_the_list_after_login_unless_a_safe_next_is_given(client, people):
    reviewer = people["r1"]
    response = client.post("/konto/logg-inn", data={"email": reviewer.email, "password": "correct horse battery"})
    response = pass_second_factor(client, reviewer, response)
    assert client.get(response.headers["Location"]).headers["Location"].endswith("/saksbehandling/mine")
    client.post("/konto/logg-ut")
    response = client.post("/konto/logg-inn?next=/saksbehandling/", data={
        "email": reviewer.email, "password": "correct horse battery", "next": "/saksbehandling/"})
    response = pass_second_factor(client, reviewer, response)
    assert response.headers["Location"].endswith("/saksbehandling/")
    client.post("/konto/logg-ut")
    response = client.post("/konto/logg-inn", data={
        "email": reviewer.email, "password": "correct horse battery", "next": "//evil.example/"})
    response = pass_second_factor(client, reviewer, response)
    assert client.get(response.headers["Location"]).headers["Location"].endswith("/saksbehandling/mine")


def test_other_roles_land_where_they_did(client, login_as, people):
    for user, landing in ((people["caseworker"], "/"), (people["admin"], "/admin/utlysninger/"),
                          (people["staff"], "/soknader/")):
        response = login_as(user)
        assert client.get(response.headers["Location"]).headers["Location"].endswith(landing), user.role
        client.post("/konto/logg-ut")


def test_the_list_costs_the_same_for_3_and_40_applications(client, login_as, people, round_, count_queries):
    def add(n):
        for i in range(n):
            application = assigned(round_, people, declared=i % 3 != 0)
            if i % 4 == 0 and i % 3 != 0:
                scored(application, round_, people)
        db.session.commit()

    login_as(people["r1"])
    add(3)
    client.get("/saksbehandling/mine")  # warms what a running server has warm
    with count_queries() as few:
        assert client.get("/saksbehandling/mine").status_code == 200
    add(37)
    with count_queries() as many:
        page = client.get("/saksbehandling/mine").get_data(as_text=True)
    assert len(references(page)) == queries.PAGE_SIZE
    assert db.session.scalar(select(db.func.count()).select_from(Assignment)) == 40
    assert few.count == many.count, "\n\n".join(few.statements + ["-----"] + many.statements)


def test_the_query_gives_open_work_first_and_keeps_the_page_in_range(people, round_):
    first = assigned(round_, people)
    second = assigned(round_, people)
    scored(first, round_, people)
    db.session.commit()
    listing = queries.reviewer_list(people["r1"], page=9)
    assert [(a.application_id, is_open) for a, _review, is_open in listing.rows] == [(second.id, True),
                                                                                    (first.id, False)]
    assert (listing.total, listing.page, listing.pages, listing.shown) == (2, 1, 1, queries.OPEN_ROUNDS)
    assert [(r.round.id, r.open, r.total) for r in listing.rounds] == [(round_.id, 1, 2)]
    assert queries.reviewer_list(people["r1"], rounds=round_.id + 1000).rows == []  # not one of theirs
    assert queries.reviewer_list(people["r2"]).rows == []
    assert queries.reviewer_list(people["r1"], page_size=1, page=2).rows[0][0].application_id == first.id
