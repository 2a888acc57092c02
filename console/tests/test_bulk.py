"""The set-based writes (console.bulk) on the database the tests run on."""

import pytest

from console import bulk, clock
from console.models import Account, User
from console.tests.factories import AccountFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_update_in_groups_writes_each_group_its_values_in_one_statement(django_assert_num_queries):
    owner = UserFactory()
    first, second, third, untouched = (AccountFactory(owner=owner, name=f"account {n}") for n in range(4))
    with django_assert_num_queries(1):
        written = bulk.update_in_groups(
            Account, [([first.pk, second.pk], {"name": "renamed"}), ([third.pk], {"name": "other"}), ([], {"name": "x"})]
        )
    assert written == 3
    names = dict(Account.objects.values_list("pk", "name"))
    assert names == {first.pk: "renamed", second.pk: "renamed", third.pk: "other", untouched.pk: "account 3"}


def test_update_in_groups_with_no_rows_runs_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert bulk.update_in_groups(Account, [([], {"name": "x"})]) == 0


def test_any_of_finds_the_same_rows_for_integers_and_for_other_values():
    users = UserFactory.create_batch(3)
    ids = [user.pk for user in users[:2]]
    assert set(User.objects.filter(pk__any_of=ids).values_list("pk", flat=True)) == set(ids)
    assert set(User.objects.filter(pk__any_of=[str(pk) for pk in ids]).values_list("pk", flat=True)) == set(ids)
    assert not User.objects.filter(pk__any_of=[]).exists()
    emails = [users[2].email]
    assert list(User.objects.filter(email__any_of=emails).values_list("pk", flat=True)) == [users[2].pk]


def test_insert_columns_returns_the_ids_of_the_rows_it_inserted():
    organization = OrganizationFactory()
    users = UserFactory.create_batch(2)
    AccountFactory(owner=users[0])
    inserted = bulk.insert_columns(
        Account,
        {
            "name": ["a", "b"],
            "owner": [users[0].pk, users[1].pk],
            "organization": organization.pk,
            "created_at": clock.now(),
        },
    )
    assert sorted(Account.objects.filter(pk__any_of=inserted).values_list("owner_id", flat=True)) == sorted(
        user.pk for user in users
    )
