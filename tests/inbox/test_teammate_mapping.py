"""An admin maps an Intercom teammate (admin id) to a person on the person's page; the mapping wins over
the email match, is audited, and is refused when it would name two people."""

import pytest

from reviewqueue.audit.models import AuditEvent
from reviewqueue.inbox.models import IntercomTeammate
from tests.conftest import logged_in_client, make_user
from tests.inbox.conftest import INITIALIZE, admin, component_ids, initialize_body, post
from tests.review.conftest import received_draft

pytestmark = pytest.mark.django_db


def map_teammate(admin_client, person, admin_id: str):
    return admin_client.post(f"/manage/people/{person.pk}/intercom", {"admin_id": admin_id})


def test_a_teammate_whose_intercom_email_differs_is_the_person_their_admin_id_is_mapped_to(
    client, db, reviewer, admin_client_
):
    draft = received_draft(conversation_id="c_7")
    teammate = admin("rita.personal@elsewhere.example", admin_id="4242")
    assert not component_ids(post(client, INITIALIZE, initialize_body(teammate=teammate)))  # unknown email
    answer = map_teammate(admin_client_, reviewer, "4242")
    assert answer.status_code == 302
    assert f"approve:{draft.pk}" in component_ids(post(client, INITIALIZE, initialize_body(teammate=teammate)))
    event = AuditEvent.objects.get(action="person.intercom_teammate_set")
    assert event.payload == {"username": "rita", "admin_id": "4242", "before": ""}


def test_the_mapping_wins_over_another_persons_email(client, db, reviewer, django_user_model, admin_client_):
    received_draft(conversation_id="c_7")
    auditor_with_ritas_intercom_email = make_user(django_user_model, "aldo", "auditor")
    django_user_model.objects.filter(pk=auditor_with_ritas_intercom_email.pk).update(email="shared@example.com")
    map_teammate(admin_client_, reviewer, "4242")
    answer = post(client, INITIALIZE, initialize_body(teammate=admin("shared@example.com", admin_id="4242")))
    assert any(cid.startswith("approve:") for cid in component_ids(answer))


def test_clearing_it_matches_by_email_again_and_is_audited(client, db, reviewer, admin_client_):
    map_teammate(admin_client_, reviewer, "4242")
    map_teammate(admin_client_, reviewer, "")
    assert not IntercomTeammate.objects.exists()
    assert AuditEvent.objects.get(action="person.intercom_teammate_cleared").payload["before"] == "4242"


def test_a_deactivated_persons_mapping_maps_nobody(client, db, reviewer, admin_client_):
    received_draft(conversation_id="c_7")
    map_teammate(admin_client_, reviewer, "4242")
    reviewer.is_active = False
    reviewer.save()
    answer = post(client, INITIALIZE, initialize_body(teammate=admin("other@example.com", admin_id="4242")))
    assert not component_ids(answer)


@pytest.mark.parametrize("admin_id", ["42 42", "4242;drop", "x" * 65])
def test_a_malformed_admin_id_is_refused_with_why(db, reviewer, admin_client_, admin_id):
    answer = map_teammate(admin_client_, reviewer, admin_id)
    assert answer.status_code == 302 and not IntercomTeammate.objects.exists()
    page = admin_client_.get(f"/manage/people/{reviewer.pk}/").content.decode()
    assert "Not mapped: an Intercom admin id is up to 64 letters" in page


def test_one_admin_id_is_one_person(db, reviewer, admin_client_, django_user_model):
    tom = make_user(django_user_model, "tom", "reviewer")
    map_teammate(admin_client_, reviewer, "4242")
    map_teammate(admin_client_, tom, "4242")
    assert IntercomTeammate.objects.get().person == reviewer
    assert "already mapped to rita" in admin_client_.get(f"/manage/people/{tom.pk}/").content.decode()


def test_only_an_admin_maps_teammates(db, reviewer):
    answer = logged_in_client(reviewer).post(f"/manage/people/{reviewer.pk}/intercom", {"admin_id": "4242"})
    assert answer.status_code == 403 and not IntercomTeammate.objects.exists()


def test_the_person_page_shows_the_mapping(db, reviewer, admin_client_):
    map_teammate(admin_client_, reviewer, "4242")
    page = admin_client_.get(f"/manage/people/{reviewer.pk}/").content.decode()
    assert "Intercom Inbox app" in page and 'name="admin_id" value="4242"' in page
