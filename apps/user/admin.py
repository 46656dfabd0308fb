from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

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
