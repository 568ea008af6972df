"""Order numbers: short, unambiguous when read out, and drawn uniformly."""

import re

from orders.checkout import new_order_number

READABLE = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # no I, L, O or U


def test_an_order_number_is_ord_and_ten_readable_characters():
    assert re.fullmatch(rf"ORD-[{READABLE}]{{10}}", new_order_number())


def test_every_character_takes_every_value_and_numbers_do_not_repeat():
    numbers = [new_order_number()[4:] for _ in range(3000)]

    assert len(set(numbers)) == len(numbers)
    for position in range(10):
        # 3000 draws put each of the 32 characters about 94 times in every position; a
        # position fed by too few random bits would show only some of them.
        assert {number[position] for number in numbers} == set(READABLE), position
