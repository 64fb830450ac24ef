"""Admin of the webhooks: subscriptions (the secret is never shown back once saved) and the delivery log, with
an action that sends deliveries again."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from integrations import webhooks
from integrations.events import EventType
from integrations.models import Delivery, WebhookSubscription, new_secret, webhook_url_validator


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", validators=[webhook_url_validator])
    event_types = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)
    secret = forms.CharField(
        required=False, max_length=200, widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty: a new subscription gets a random secret, shown once after saving; a saved one "
                  "keeps its secret. The receiver verifies every delivery with it.",
    )  # fmt: skip

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "event_types", "enabled", "secret"]

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if secret and len(secret) < 16:
            raise forms.ValidationError("At least 16 characters (or leave it empty).")
        return secret


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "types", "enabled", "created_by", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["name", "url"]

    @admin.display(description="events")
    def types(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.event_types)

    def save_model(self, request, obj: WebhookSubscription, form, change: bool) -> None:
        chosen = form.cleaned_data.get("secret")
        if chosen:
            obj.secret = chosen
        elif not change:
            obj.secret = new_secret()
            messages.warning(request, f"The secret of {obj.name} (copy it to the receiver now; it is not shown "
                                      f"again): {obj.secret}")  # fmt: skip
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event_type", "subscription", "status", "attempts", "last_status_code",
                    "last_error", "next_attempt_at"]  # fmt: skip
    list_filter = ["status", "event_type", "subscription"]
    list_select_related = ["subscription"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["send_again"]

    @admin.action(description="Send the selected deliveries again", permissions=["change"])
    def send_again(self, request, queryset) -> None:
        count = webhooks.resend(queryset)
        self.message_user(request, f"{count} deliveries queued again.")

    def has_add_permission(self, request) -> bool:
        return False
