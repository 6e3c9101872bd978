"""The OpenAPI schema documents the error answers every endpoint can give, so clients (and the
contract tests) know them."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .errors import ErrorSerializer, ValidationErrorSerializer

COMMON_ERRORS = {
    "400": OpenApiResponse(ValidationErrorSerializer, description="Invalid parameters or fields."),
    "404": OpenApiResponse(
        ErrorSerializer, description="No such record, a stale cursor or no such page."
    ),
    "429": OpenApiResponse(ErrorSerializer, description="Too many requests; retry later."),
}


class ApiSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, response in COMMON_ERRORS.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses
