"""REST API of the user context (docs/api.md, "Users"): thin views, one service or selector call each."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.user import selectors, services
from apps.user.api.throttles import LoginIPThrottle, RefreshUserThrottle
from apps.user.models import COUNTRIES, US_STATES

NAME_MAX = 150
PROBLEM = OpenApiResponse(description="application/problem+json with a stable `code`")


class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class _PublicAuthView(APIView):
    """Anonymous auth endpoints: no session (so no CSRF), throttled per client address (wrong
    passwords are limited per account and address by apps.user.lockout)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (LoginIPThrottle,)

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class RegisterApi(_PublicAuthView):
    @extend_schema_serializer(component_name="UserRegisterInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)
        first_name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True, default="")
        last_name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True, default="")

    @extend_schema_serializer(component_name="UserRegisterOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 400: PROBLEM, 429: PROBLEM},
        summary="Create an account",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(self.OutputSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenObtainApi(_PublicAuthView):
    @extend_schema_serializer(component_name="UserTokenObtainInput")
    class InputSerializer(serializers.Serializer):
        email = serializers.CharField(max_length=254)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={200: TokenPairOutput, 401: PROBLEM, 429: PROBLEM},
        summary="Obtain an access and a refresh token",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            pair = services.token_pair_obtain(request=request._request, **data.validated_data)
        except services.LoginLocked as exc:
            raise Throttled(wait=exc.retry_after) from exc
        return Response({"access": pair.access, "refresh": pair.refresh})


class _RefreshInput(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class TokenRefreshApi(_PublicAuthView):
    throttle_classes = (RefreshUserThrottle,)

    @extend_schema(
        request=_RefreshInput,
        responses={200: TokenPairOutput, 401: PROBLEM, 429: PROBLEM},
        summary="Rotate a refresh token (a reused one revokes the account's refresh tokens)",
    )
    def post(self, request: Request) -> Response:
        data = _RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.token_pair_refresh(refresh=data.validated_data["refresh"])
        return Response({"access": pair.access, "refresh": pair.refresh})


class LogoutApi(_PublicAuthView):
    throttle_classes = (RefreshUserThrottle,)

    @extend_schema(request=_RefreshInput, responses={205: None, 401: PROBLEM}, summary="Blacklist a refresh token")
    def post(self, request: Request) -> Response:
        data = _RefreshInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.token_revoke(refresh=data.validated_data["refresh"])
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema_serializer(component_name="UserMeInput")
    class InputSerializer(serializers.Serializer):
        first_name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True)
        last_name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="UserMeOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        email = serializers.EmailField()
        first_name = serializers.CharField()
        last_name = serializers.CharField()

    @extend_schema(responses={200: OutputSerializer, 401: PROBLEM})
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.user_get(user_id=request.user.pk)).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 400: PROBLEM, 401: PROBLEM})
    def patch(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_update_profile(user_id=request.user.pk, **data.validated_data)
        return Response(self.OutputSerializer(user).data)


class AddressOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField()
    is_default_shipping = serializers.BooleanField()


class AddressInput(serializers.Serializer):
    """Shapes and sizes only; the service decides what a valid US address is (shared with the pages)."""

    name = serializers.CharField(max_length=100)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=2, min_length=2, help_text=f"USPS code, one of {len(US_STATES)}")
    postal_code = serializers.CharField(max_length=10, help_text="12345 or 12345-6789")
    country = serializers.ChoiceField(choices=[c for c, _ in COUNTRIES])
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    is_default_shipping = serializers.BooleanField(required=False)


class AddressListApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(responses={200: AddressOutput(many=True), 401: PROBLEM})
    def get(self, request: Request) -> Response:
        return Response(AddressOutput(selectors.address_list(user_id=request.user.pk), many=True).data)

    @extend_schema(request=AddressInput, responses={201: AddressOutput, 400: PROBLEM, 401: PROBLEM})
    def post(self, request: Request) -> Response:
        data = AddressInput(data=request.data)
        data.is_valid(raise_exception=True)
        address = services.address_create(user_id=request.user.pk, **data.validated_data)
        return Response(AddressOutput(address).data, status=status.HTTP_201_CREATED)


class AddressDetailApi(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=AddressInput, responses={200: AddressOutput, 400: PROBLEM, 404: PROBLEM})
    def patch(self, request: Request, address_id: int) -> Response:
        data = AddressInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        address = services.address_update(user_id=request.user.pk, address_id=address_id, **data.validated_data)
        return Response(AddressOutput(address).data)

    @extend_schema(responses={204: None, 404: PROBLEM})
    def delete(self, request: Request, address_id: int) -> Response:
        services.address_delete(user_id=request.user.pk, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
