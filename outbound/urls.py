from django.urls import path

from outbound import views

app_name = "outbound"
urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("new/", views.order_create, name="order_create"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/edit/", views.order_edit, name="order_edit"),
    path("<int:pk>/submit/", views.order_submit, name="order_submit"),
    path("<int:pk>/decide/", views.order_decide, name="order_decide"),
]
