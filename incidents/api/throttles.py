"""Request rates for anonymous and token clients, read from settings on every request so that
a changed setting (or a test's override) takes effect without a restart."""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class AnonymousThrottle(AnonRateThrottle):
    scope = "anonymous"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class TokenThrottle(UserRateThrottle):
    scope = "token"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
