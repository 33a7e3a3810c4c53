// JSON parser conformance (escapes, surrogates, numbers, nesting, key order), parse errors with
// line:column positions, JsonRef typed accessors with key-path errors, and write_json round trips.
#include "util/json_parse.h"

#include "support/files.h"

namespace ds {
namespace {

JsonValue parse(std::string_view s) { return parse_json(s, "doc"); }
std::string str(std::string_view json) { return parse(json).string; }

TEST(JsonParse, Literals) {
  EXPECT_EQ(parse("null").type, JsonType::Null);
  EXPECT_EQ(parse(" true ").type, JsonType::Bool);
  EXPECT_TRUE(parse("true").boolean);
  EXPECT_FALSE(parse("\n\tfalse\r\n").boolean);
  EXPECT_EQ(parse("\"\"").type, JsonType::String);
}

TEST(JsonParse, Escapes) {
  EXPECT_EQ(str(R"("a\"b\\c\/d")"), "a\"b\\c/d");
  EXPECT_EQ(str(R"("\b\f\n\r\t")"), "\b\f\n\r\t");
  EXPECT_EQ(str(R"("\u0041\u00e9\u20AC")"), "A\xC3\xA9\xE2\x82\xAC");  // A, e-acute, euro sign
  EXPECT_EQ(str(R"("\u0000x")"), std::string("\0x", 2));
  EXPECT_EQ(str(R"("\u07FF\u0800\uFFFF")"), "\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF");  // UTF-8 length boundaries
  EXPECT_EQ(str("\"raw \xC4\x9F utf-8\""), "raw \xC4\x9F utf-8");                    // passed through
}

TEST(JsonParse, SurrogatePairs) {
  EXPECT_EQ(str(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");  // U+1F600
  EXPECT_EQ(str(R"("\uD800\uDC00")"), "\xF0\x90\x80\x80");  // U+10000, lowest
  EXPECT_EQ(str(R"("\uDBFF\uDFFF")"), "\xF4\x8F\xBF\xBF");  // U+10FFFF, highest
}

TEST(JsonParse, Numbers) {
  auto num = [](std::string_view s) { return parse(s); };
  EXPECT_TRUE(num("0").integral);
  EXPECT_EQ(num("-0").integer, 0);
  EXPECT_EQ(num("123").integer, 123);
  EXPECT_EQ(num("-45").integer, -45);
  EXPECT_DOUBLE_EQ(num("1.5").number, 1.5);
  EXPECT_FALSE(num("1.5").integral);
  EXPECT_DOUBLE_EQ(num("1.5e-3").number, 0.0015);
  EXPECT_DOUBLE_EQ(num("-2.5E+2").number, -250);
  EXPECT_TRUE(num("1e3").integral);  // integral value written with an exponent
  EXPECT_EQ(num("1e3").integer, 1000);
  EXPECT_TRUE(num("1000000.0").integral);
  EXPECT_EQ(num("9007199254740993").integer, 9007199254740993LL);  // exact beyond double precision
  EXPECT_EQ(num("9223372036854775807").integer, INT64_MAX);
  EXPECT_EQ(num("-9223372036854775808").integer, INT64_MIN);
  EXPECT_FALSE(num("9223372036854775808").integral);  // beyond int64: a double only
  EXPECT_DOUBLE_EQ(num("9223372036854775808").number, 9223372036854775808.0);
  EXPECT_EQ(num("1e-400").number, 0.0);  // underflow rounds to zero
  EXPECT_DOUBLE_EQ(num("1e-05").number, 1e-5);
}

TEST(JsonParse, NestingAndKeyOrder) {
  JsonValue v = parse(R"({"z": [1, [2, [3, {}]], []], "a": {"y": null, "b": true}, "m": "s"})");
  ASSERT_EQ(v.type, JsonType::Object);
  EXPECT_EQ(v.keys, (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_EQ(v.find("z")->items[1].items[1].items[0].integer, 3);
  EXPECT_EQ(v.find("z")->items[1].items[1].items[1].type, JsonType::Object);
  EXPECT_EQ(v.find("a")->keys, (std::vector<std::string>{"y", "b"}));
  EXPECT_EQ(v.find("m")->string, "s");
  EXPECT_EQ(v.find("q"), nullptr);
}

TEST(JsonParse, SiblingsAtEveryDepthKeepTheirOrder) {
  const char* text = R"([[1,2],[3,[4,5]],{"a":[6],"b":{"c":[7,8],"d":[]}},[[[9]]],10])";
  JsonWriter w;
  write_json(w, parse(text));
  EXPECT_EQ(w.str(), text);
}

TEST(JsonParse, LargeObjectLookup) {
  std::string s = "{";
  for (int i = 0; i < 5000; ++i) s += (i ? "," : "") + cat("\"k", 4999 - i, "\":", i);
  JsonValue v = parse(s + "}");
  EXPECT_EQ(v.keys.front(), "k4999");
  EXPECT_EQ(v.find("k0")->integer, 4999);
  EXPECT_EQ(v.find("k1234")->integer, 4999 - 1234);
}

TEST(JsonParse, DepthLimit) {
  std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_NO_THROW(parse_json(ok, "doc", {.max_depth = 100}));
  EXPECT_ERROR(parse_json(ok, "doc", {.max_depth = 99}), "doc:1:100: nesting deeper than 99 levels");
}

struct BadJson {
  const char* name;
  const char* text;
  const char* message;  // expected "[json] doc:<line>:<col>: ..." text
};

class JsonErrorTest : public testing::TestWithParam<BadJson> {};

TEST_P(JsonErrorTest, NamesPositionAndExpectation) {
  EXPECT_ERROR(parse(GetParam().text), std::string("[json] ") + GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonErrorTest,
    testing::Values(
        BadJson{"Empty", "", "doc:1:1: unexpected end of input, expected a value"},
        BadJson{"MissingComma", "{\"a\": 1 \"b\": 2}", "doc:1:9: expected ',' or '}' after object member"},
        BadJson{"MissingCommaLine3", "{\n  \"a\": 1,\n  \"b\": 2\n  \"c\": 3\n}", "doc:4:3: expected ',' or '}' after object member"},
        BadJson{"ArrayComma", "[1 2]", "doc:1:4: expected ',' or ']' after array element"},
        BadJson{"MissingColon", "{\"a\" 1}", "doc:1:6: expected ':' after object key"},
        BadJson{"TrailingCommaObject", "{\"a\": 1,}", "doc:1:9: expected a string key"},
        BadJson{"TrailingCommaArray", "[1,]", "doc:1:4: expected a value"},
        BadJson{"UnquotedKey", "{a: 1}", "doc:1:2: expected a string key"},
        BadJson{"SingleQuotes", "['a']", "doc:1:2: expected a value (object, array, string, number, true, false or null), found '''"},
        BadJson{"Unterminated", "[\"abc", "doc:1:2: unterminated string"},
        BadJson{"ControlChar", "\"a\nb\"", "doc:1:3: control character byte 0xa in a string (must be escaped)"},
        BadJson{"BadEscape", R"("a\qb")", R"(doc:1:3: invalid escape '\q')"},
        BadJson{"BadHex", R"("\u12G4")", "doc:1:6: invalid \\u escape: 'G' is not a hex digit"},
        BadJson{"LoneHigh", R"("x\ud83dy")", "doc:1:3: lone high surrogate \\ud83d"},
        BadJson{"LoneLow", R"("\ude00")", "doc:1:2: lone low surrogate \\ude00"},
        BadJson{"HighThenNonLow", R"("\ud83d\u0041")", "doc:1:8: high surrogate \\ud83d followed by \\u41"},
        BadJson{"LeadingZero", "012", "doc:1:1: invalid number: leading zeros are not allowed"},
        BadJson{"BareDot", "1.", "doc:1:3: invalid number: expected a digit after '.'"},
        BadJson{"LeadingDot", ".5", "doc:1:1: expected a value"},
        BadJson{"LonelyMinus", "-", "doc:1:2: invalid number: expected a digit"},
        BadJson{"PlusSign", "+1", "doc:1:1: expected a value"},
        BadJson{"EmptyExponent", "1e", "doc:1:3: invalid number: expected a digit in the exponent"},
        BadJson{"Hex", "0x10", "doc:1:2: unexpected characters after the end of the document"},
        BadJson{"NaN", "NaN", "doc:1:1: expected a value"},
        BadJson{"Infinity", "[-Infinity]", "doc:1:3: invalid number: expected a digit"},
        BadJson{"Overflow", "[1e400]", "doc:1:2: number 1e400 is out of range"},
        BadJson{"TrailingGarbage", "{} x", "doc:1:4: unexpected characters after the end of the document"},
        BadJson{"TwoDocuments", "1 2", "doc:1:3: unexpected characters"},
        BadJson{"DuplicateKey", "{\"a\": 1, \"b\": 2, \"a\": 3}", "doc:1:18: duplicate key \"a\""},
        BadJson{"Truncated", "{\"a\": [1, 2", "doc:1:12: expected ',' or ']' after array element"},
        BadJson{"TrueTypo", "tru", "doc:1:1: expected a value"},
        BadJson{"ColumnCountsCharacters", "[\"\xC3\xA9\xC3\xA9\" x]", "doc:1:7: expected ',' or ']'"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- JsonRef ----

const char* k_config = R"({
  "hidden_size": 4096,
  "name": "x",
  "eps": 1e-05,
  "half": 2.5,
  "nothing": null,
  "ssm_cfg": {"d_state": "16", "d_xb": 1024, "flag": true},
  "layout": ["t", "m2", 3]
})";

TEST(JsonRef, TypedValues) {
  JsonValue v = parse_json(k_config, "config.json");
  JsonRef r(v, "config.json");
  EXPECT_EQ(r.get("hidden_size").as_int(), 4096);
  EXPECT_EQ(r.get("name").as_string(), "x");
  EXPECT_DOUBLE_EQ(r.get("eps").as_double(), 1e-5);
  EXPECT_EQ(r.get("ssm_cfg").get("d_xb").as_int(1, 4096), 1024);
  EXPECT_TRUE(r.get("ssm_cfg").get("flag").as_bool());
  EXPECT_EQ(r.get("layout").at(1).as_string(), "m2");
  EXPECT_EQ(r.get("layout").size(), 3u);
  EXPECT_EQ(r.int_or("absent", 7), 7);
  EXPECT_EQ(r.int_or("nothing", 8), 8);  // null reads as absent
  EXPECT_FALSE(r.opt("nothing").has_value());
  EXPECT_TRUE(r.has("nothing"));
  EXPECT_EQ(r.string_or("name", "d"), "x");
  EXPECT_EQ(r.get("ssm_cfg").members()[1].first, "d_xb");
}

TEST(JsonRef, ErrorsNameTheKeyPath) {
  JsonValue v = parse_json(k_config, "config.json");
  JsonRef r(v, "config.json");
  EXPECT_ERROR(r.get("ssm_cfg").get("d_state").as_int(),
               "config.json: key 'ssm_cfg.d_state' is a string (\"16\"), expected a number");
  EXPECT_ERROR(r.get("ssm_cfg").get("d_conv"), "config.json: required key 'ssm_cfg.d_conv' is missing");
  EXPECT_ERROR(r.get("layout").at(2).as_string(), "config.json: key 'layout[2]' is 3, expected a string");
  EXPECT_ERROR(r.get("layout").at(5), "config.json: key 'layout' has 3 elements; element 5 does not exist");
  EXPECT_ERROR(r.get("half").as_int(), "config.json: key 'half' is 2.5, expected an integer");
  EXPECT_ERROR(r.get("hidden_size").as_int(1, 1024), "key 'hidden_size' is 4096, expected an integer in [1, 1024]");
  EXPECT_ERROR(r.get("nothing").as_bool(), "key 'nothing' is null, expected a boolean");
  EXPECT_ERROR(r.get("name").get("x"), "key 'name' is a string (\"x\"), expected an object");
  EXPECT_ERROR(r.int_or("name", 1), "key 'name' is a string (\"x\"), expected a number");
  JsonValue arr = parse("[1]");
  EXPECT_ERROR(JsonRef(arr, "a.json").get("k"), "a.json: the document is an array of 1, expected an object");
}

TEST(JsonWrite, RoundTripKeepsOrderAndValues) {
  const char* text = R"({"b":[1,-2,3.5,"s\n\"q\"",true,false,null],"a":{"z":{},"y":[]},"u":"\u00e9\ud83d\ude00","big":9007199254740993})";
  JsonValue v = parse(text);
  JsonWriter w;
  write_json(w, v);
  JsonValue again = parse(w.str());
  JsonWriter w2;
  write_json(w2, again);
  EXPECT_EQ(w.str(), w2.str());
  EXPECT_EQ(again.keys, v.keys);
  EXPECT_EQ(again.find("big")->integer, 9007199254740993LL);
  EXPECT_EQ(again.find("u")->string, "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(again.find("b")->items[3].string, "s\n\"q\"");
}

TEST(JsonFile, ReadsAndNamesTheFile) {
  test::TempDir dir;
  test::write_bytes(dir / "c.json", "\xEF\xBB\xBF{\"a\": [1,\n 2,,]}");
  EXPECT_ERROR(read_json_file(dir / "c.json"), "[json] " + (dir / "c.json") + ":2:4: expected a value");
  test::write_bytes(dir / "ok.json", "{\"a\": 1}\n");
  EXPECT_EQ(JsonRef(read_json_file(dir / "ok.json")).get("a").as_int(), 1);
  EXPECT_ERROR(read_json_file(dir / "missing.json"), "missing.json: cannot open");
}

}  // namespace
}  // namespace ds
