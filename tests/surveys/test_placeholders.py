from surveys.placeholders import placeholders_fill, placeholders_in, placeholders_known


def test_placeholders_in_lists_each_name_once_in_order():
    text = "Hello {customer_name}, this is {agent_name} ({agent_no}). {customer_name}?"
    assert placeholders_in(text) == ["customer_name", "agent_name", "agent_no"]
    assert placeholders_in("") == []
    assert placeholders_in("{ not one } {1x} {}") == []


def test_fill_replaces_known_values_and_leaves_unknown_visible():
    text = "您好，{customer_name}！您使用的是{brand}，套餐{plan}。"
    filled = placeholders_fill(text, {"customer_name": "张先生", "brand": "全球通"})
    assert filled == "您好，张先生！您使用的是全球通，套餐{plan}。"
    assert placeholders_fill("{caller_number}", {"caller_number": None}) == "{caller_number}"


def test_known_names_are_the_calls_the_contact_attributes_and_the_extras():
    known = placeholders_known(["plan"])
    assert {"customer_name", "agent_name", "agent_no", "caller_number"} <= known
    assert {"brand", "region", "segment", "plan"} <= known
    assert "city" not in known
