from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.user import services
from apps.user.models import Address, User


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = ("name", ("line1", "line2"), ("city", "state", "postal_code", "country"), "phone", "is_default_shipping")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    inlines = (AddressInline,)
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    actions = ["deactivate_accounts", "activate_accounts"]

    # Through the service, not queryset.update(): a bulk update sends no post_save, and the hot path
    # and the JWT check would go on accepting a deactivated account's live token.
    @admin.action(description="Deactivate the selected accounts", permissions=["change"])
    def deactivate_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ids = [user_id for user_id in queryset.values_list("pk", flat=True) if user_id != request.user.pk]
        changed = services.users_set_active(user_ids=ids, active=False)
        self.message_user(request, f"{changed} account(s) deactivated.", messages.SUCCESS)

    @admin.action(description="Activate the selected accounts", permissions=["change"])
    def activate_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = services.users_set_active(user_ids=queryset.values_list("pk", flat=True), active=True)
        self.message_user(request, f"{changed} account(s) activated.", messages.SUCCESS)
