"""foodcls: a food-photo classifier and the ResNet lesson, retold on our own training runs."""
