import factory

from console import clock
from console.tests.factories import OrganizationFactory
from webhooks import signing
from webhooks.models import Endpoint, EndpointSecret


class EndpointFactory(factory.django.DjangoModelFactory):
    """An enabled endpoint for every event, with one current signing secret (`endpoint.secret`)."""

    class Meta:
        model = Endpoint
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    url = factory.Sequence(lambda n: f"https://hooks{n}.example/admin-center")
    description = "Incident tool"
    event_types = factory.LazyFunction(list)
    enabled = True
    created_at = factory.LazyFunction(clock.now)

    @factory.post_generation
    def secret(endpoint, create, value, **kwargs):
        endpoint.secret = value or signing.new_secret()
        if create:
            EndpointSecret.objects.create(endpoint=endpoint, secret=endpoint.secret, created_at=clock.now())
