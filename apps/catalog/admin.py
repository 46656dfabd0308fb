"""Staff manage the catalog here: a category tree, products with inline variants, bulk actions.

Admin writes go through the ModelAdmin's save machinery, so each save also announces a
ProductChanged event in the same transaction (the search index follows it), or only PriceChanged
when variant prices are all that changed; bulk actions call the services.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html, format_html_join
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from apps.catalog import selectors, services
from apps.catalog.models import Category, Product, Variant
from apps.catalog.selectors import category_tree_invalidate
from nexuscart import display


def _sku_names(skus: list[str]) -> dict[str, str]:
    return {
        sku: f"{snap.product_name} — {snap.variant_name}" if snap.variant_name else snap.product_name
        for sku, snap in selectors.skus_get(skus=skus).items()
    }


def _skus_matching(text: str) -> list[str]:
    return list(Variant.objects.filter(product__name__icontains=text.strip()[:100]).values_list("sku", flat=True)[:500])


# Lower contexts' staff screens (inventory's stock list) show and search product names through this.
display.register_sku_lookups(names=_sku_names, search=_skus_matching)


def _prices_only(form: forms.ModelForm, formsets: list) -> bool:
    """The product form unchanged, no variant added or deleted, and only variant prices edited."""
    if form.has_changed():
        return False
    for formset in formsets:
        if formset.new_objects or formset.deleted_objects:
            return False
        if any(set(fields) - {"price"} for _, fields in formset.changed_objects):
            return False
    return True


class MoneyInput(forms.DecimalField):
    """Staff type dollars and cents ("49.99"); the model keeps integer cents (4999)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("min_value", Decimal("0"))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{Decimal(value) / 100:.2f}"
        return value

    def to_python(self, value):
        if isinstance(value, int):
            return value
        amount = super().to_python(value)
        return None if amount is None else int((amount * 100).to_integral_value())

    def validate(self, value) -> None:
        if value in self.empty_values and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value) -> None:
        if value is not None and value < 0:
            raise forms.ValidationError("The price cannot be negative.")


class VariantForm(forms.ModelForm):
    price = MoneyInput(label="Price ($)")

    class Meta:
        model = Variant
        fields = ("sku", "name", "price", "currency", "attributes", "is_active", "position")


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    form = movenodeform_factory(Category)
    list_display = ("name", "slug", "is_featured")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(category_tree_invalidate)
        if change and {"name", "treebeard_position", "treebeard_ref_node"} & set(form.changed_data):
            # The products below now have another category path: their search documents follow.
            services.category_products_announce(category_id=obj.pk)


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    extra = 1
    fields = ("sku", "name", "price", "currency", "attributes", "is_active", "position")


class MoveToCategoryForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("path"), label="New category")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "category", "is_active", "is_featured", "updated_at")
    list_filter = ("is_active", "is_featured", "category")
    list_select_related = ("category",)
    search_fields = ("name", "slug", "variants__sku")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [VariantInline]
    actions = ["activate", "deactivate", "change_category"]
    readonly_fields = ("images_preview", "attributes_table", "created_at", "updated_at")
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description="images (preview)")
    def images_preview(self, obj: Product) -> str:
        # The JSON field stays editable; this shows what it holds.
        images = [i for i in (obj.images or []) if isinstance(i, dict) and i.get("url")]
        if not images:
            return "—"
        return format_html_join(
            " ",
            '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="{1}" style="max-height:80px"></a>',
            ((i["url"], i.get("alt", "")) for i in images),
        )

    @admin.display(description="attributes (table)")
    def attributes_table(self, obj: Product) -> str:
        attrs = obj.attributes if isinstance(obj.attributes, dict) else {}
        if not attrs:
            return "—"
        pairs = sorted((str(k), str(v)) for k, v in attrs.items())
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", pairs)
        return format_html("<table>{}</table>", rows)

    def save_formset(self, request, form, formset, change):
        old_prices = {
            f.instance.pk: f.initial.get("price")
            for f in formset.forms
            if f.instance.pk and "price" in f.changed_data and f.initial.get("price") is not None
        }
        super().save_formset(request, form, formset, change)
        for variant in formset.queryset.filter(pk__in=list(old_prices)):
            services.variant_price_announce(variant=variant, old_price=old_prices[variant.pk])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Variants are saved after the product: announce once everything is written. An edit of
        # prices alone was announced by save_formset (PriceChanged re-misses what shows those
        # prices); ProductChanged would re-miss every listing and product page.
        if not (change and _prices_only(form, formsets)):
            services.product_changed_announce(product=form.instance)

    def delete_model(self, request, obj):
        # Deleting would orphan order lines and stock rows that refer to its SKUs by id.
        services.products_set_active(product_ids=[obj.pk], is_active=False)
        self.message_user(request, "Products are deactivated, not deleted.", messages.WARNING)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Activate selected products", permissions=["change"])
    def activate(self, request: HttpRequest, queryset) -> None:
        n = services.products_set_active(product_ids=queryset.values_list("pk", flat=True), is_active=True)
        self.message_user(request, f"{n} product(s) activated.")

    @admin.action(description="Deactivate selected products", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset) -> None:
        n = services.products_set_active(product_ids=queryset.values_list("pk", flat=True), is_active=False)
        self.message_user(request, f"{n} product(s) deactivated.")

    @admin.action(description="Move selected products to another category", permissions=["change"])
    def change_category(self, request: HttpRequest, queryset) -> HttpResponse | None:
        form = MoveToCategoryForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            n = services.products_move(
                product_ids=queryset.values_list("pk", flat=True), category_id=form.cleaned_data["category"].pk
            )
            self.message_user(request, f"{n} product(s) moved to {form.cleaned_data['category']}.")
            return None
        return render(
            request,
            "catalog/admin_change_category.html",
            {
                **self.admin_site.each_context(request),
                "title": "Move products to another category",
                "form": form,
                "products": queryset.order_by("name"),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
