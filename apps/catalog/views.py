"""Storefront pages of the catalog (server-rendered, thin: data comes from selectors)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/home.html")
