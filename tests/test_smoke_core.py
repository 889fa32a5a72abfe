from sqlalchemy import select

from pathway.scan import raise_all_due
from pathway.store.models import Reminder
from tests.builders import at, open_at, send


def test_walk_to_augmentation_referral(session):
    ep = open_at(session)
    send(session, ep, "start_conservative_care", 1)
    send(session, ep, "record_reassessment", 30, pain_score=6, symptoms="persistent")
    send(session, ep, "record_imaging", 57, modality="mri", finding="stable")
    result = send(session, ep, "review_augmentation", 95, decision="refer")
    assert result.target == "augmentation_referral"
    session.commit()
    assert ep.version == 5


def test_scan_raises_once(session):
    open_at(session)
    first = raise_all_due(session, now=at(3, 0))
    second = raise_all_due(session, now=at(3, 1))
    kinds = session.scalars(select(Reminder.kind)).all()
    assert first.raised == 1 and second.raised == 0
    assert kinds == ["plan_overdue"]
