#include "usage_examples.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace portico::plugin_check {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

std::string trim(std::string_view text) {
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    return std::string(text);
}

std::string collapse_spaces(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (is_space(c) && (out.empty() || is_space(out.back()))) continue;
        out += c;
    }
    return trim(out);
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

void erase_all(std::string& text, std::string_view what) {
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos)) text.erase(pos, what.size());
}

// Drops `name` as the first word.
std::string strip_plugin_name(std::string_view text, std::string_view name) {
    std::string trimmed = trim(text);
    if (!name.empty() && trimmed.compare(0, name.size(), name) == 0 &&
        (trimmed.size() == name.size() || is_space(trimmed[name.size()])))
        return trim(std::string_view(trimmed).substr(name.size()));
    return trimmed;
}

std::string remove_parenthesised(std::string_view text) {
    std::string out;
    int depth = 0;
    for (char c : text) {
        if (c == '(') ++depth;
        else if (c == ')' && depth > 0) --depth;
        else if (depth == 0) out += c;
    }
    return out;
}

bool opens(char c) { return c == '[' || c == '<' || c == '{' || c == '('; }
bool closes(char c) { return c == ']' || c == '>' || c == '}' || c == ')'; }

// Splits at `separator` outside any brackets.
std::vector<std::string> split_top_level(std::string_view text, char separator) {
    std::vector<std::string> parts;
    std::string current;
    int depth = 0;
    for (char c : text) {
        if (opens(c)) ++depth;
        else if (closes(c) && depth > 0) --depth;
        if (c == separator && depth == 0) {
            parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(current);
    return parts;
}

// Removes every [optional] group, nested ones included.
std::string without_groups(std::string_view text) {
    std::string out;
    int depth = 0;
    for (char c : text) {
        if (c == '[') ++depth;
        else if (c == ']' && depth > 0) --depth;
        else if (depth == 0) out += c;
    }
    return out;
}

struct Segment {
    bool group = false;
    std::string text;  // a group's inside, without its brackets
};

std::vector<Segment> segments_of(std::string_view text) {
    std::vector<Segment> segments;
    std::string current;
    int depth = 0;
    for (char c : text) {
        if (c == '[') {
            if (depth == 0) {
                if (!current.empty()) segments.push_back({false, current});
                current.clear();
            } else {
                current += c;
            }
            ++depth;
        } else if (c == ']' && depth > 0) {
            if (--depth == 0) {
                segments.push_back({true, current});
                current.clear();
            } else {
                current += c;
            }
        } else {
            current += c;
        }
    }
    if (!current.empty()) segments.push_back({depth > 0, current});
    return segments;
}

// Step 4: the shapes an alternative can take.
std::vector<std::string> shapes_of(std::string_view alternative) {
    const std::vector<Segment> segments = segments_of(alternative);
    auto join = [&](std::size_t chosen, const std::string& choice, bool every_first) {
        std::string out;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            if (!segments[i].group) out += segments[i].text;
            else if (every_first) out += without_groups(split_top_level(segments[i].text, '|').front());
            else if (i == chosen) out += choice;
        }
        return collapse_spaces(out);
    };
    std::vector<std::string> shapes{join(segments.size(), {}, false)};
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (!segments[i].group) continue;
        for (const std::string& choice : split_top_level(segments[i].text, '|'))
            shapes.push_back(join(i, without_groups(choice), false));
    }
    shapes.push_back(join(segments.size(), {}, true));
    return shapes;
}

struct Placeholder {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::string name;  // upper-case
};

std::vector<Placeholder> placeholders_in(const std::string& shape) {
    std::vector<Placeholder> found;
    for (std::size_t i = 0; i < shape.size();) {
        if (shape[i] == '<') {
            const auto close = shape.find('>', i);
            if (close != std::string::npos && close > i + 1) {
                std::string name = shape.substr(i + 1, close - i - 1);
                for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                found.push_back({i, close + 1, name});
                i = close + 1;
                continue;
            }
        }
        if (is_upper(shape[i])) {
            std::size_t end = i + 1;
            while (end < shape.size() && (is_upper(shape[end]) || shape[end] == '_' ||
                                          (shape[end] >= '0' && shape[end] <= '9')))
                ++end;
            // "Hello" is a word, not the placeholder H; the M of "NdMkh" is one.
            const bool starts_word = i == 0 || !(is_upper(shape[i - 1]) || is_lower(shape[i - 1]));
            const bool capitalised_word = starts_word && end == i + 1 && end + 1 < shape.size() &&
                                          is_lower(shape[end]) && is_lower(shape[end + 1]);
            if (!capitalised_word) found.push_back({i, end, shape.substr(i, end - i)});
            i = end;
            continue;
        }
        ++i;
    }
    return found;
}

bool is_numeric_name(const std::string& name) {
    static const std::set<std::string> numeric = {
        "N", "M", "K", "I", "J", "COUNT", "NUM", "NUMBER", "INT", "INTEGER", "ID", "MS", "MILLIS",
        "MILLISECONDS", "SECONDS", "SECS", "SEC", "SIZE", "LEN", "LENGTH", "INDEX", "IDX", "AGE", "SIDES",
        "TIMES", "LIMIT", "PORT", "DELAY", "TIMEOUT", "AMOUNT", "QTY", "DICE", "DIGITS"};
    if (numeric.count(name) > 0) return true;
    return name.size() == 1 && name != "W" && name != "X" && name != "Y" && name != "Z";
}

struct ValueSet {
    std::vector<std::string> numbers;
    std::vector<std::string> words;
    bool only_with_words = false;  // used only where a shape has a word placeholder
};

std::vector<ValueSet> value_sets() {
    std::vector<ValueSet> sets;
    sets.push_back({{"3", "6", "2", "4", "5", "1"}, {"hello", "world", "foo", "bar"}, false});
    sets.push_back({{"1", "20"}, {"hello world", "x y"}, false});
    sets.push_back({{"0"}, {"x"}, false});
    sets.push_back({{"3", "6", "2"}, {"\xff\xfe"}, true});
    sets.push_back({{"3", "6", "2"}, {"caf\xc3\xa9 \xe2\x98\x83"}, true});
    sets.push_back({{"3", "6", "2"}, {std::string("a\0b", 3)}, true});
    sets.push_back({{"3", "6", "2"}, {std::string(4096, 'w')}, true});
    return sets;
}

// Step 5 (and step 6 when `set` is null).
std::string substitute(const std::string& shape, const std::vector<Placeholder>& placeholders, const ValueSet* set) {
    std::vector<std::string> number_names;
    std::vector<std::string> word_names;
    std::string out;
    std::size_t at = 0;
    for (const Placeholder& p : placeholders) {
        out += shape.substr(at, p.begin - at);
        at = p.end;
        if (set == nullptr) continue;
        const bool numeric = is_numeric_name(p.name);
        std::vector<std::string>& names = numeric ? number_names : word_names;
        auto known = std::find(names.begin(), names.end(), p.name);
        const std::size_t index = static_cast<std::size_t>(known - names.begin());
        if (known == names.end()) names.push_back(p.name);
        const std::vector<std::string>& values = numeric ? set->numbers : set->words;
        out += values[index % values.size()];
    }
    out += shape.substr(at);
    return set == nullptr ? collapse_spaces(out) : trim(out);
}

std::pair<std::size_t, std::size_t> find_example_marker(std::string_view usage) {
    const std::string lower = lowercase(usage);
    std::pair<std::size_t, std::size_t> best{std::string::npos, 0};
    for (std::string_view marker : {"e.g.", "eg:", "examples:", "example:", "for example"}) {
        const auto pos = lower.find(marker);
        if (pos != std::string::npos && pos < best.first) best = {pos, marker.size()};
    }
    return best;
}

std::string literal_example(std::string_view text, std::string_view plugin_name) {
    std::string example = strip_plugin_name(text, plugin_name);
    while (!example.empty() && (example.back() == '.' || example.back() == ':')) example.pop_back();
    while (example.size() >= 2 && (example.front() == '"' || example.front() == '\'' || example.front() == '`') &&
           example.back() == example.front())
        example = example.substr(1, example.size() - 2);
    return strip_plugin_name(example, plugin_name);
}

}  // namespace

std::vector<std::string> examples_from_usage(std::string_view usage, std::string_view plugin_name) {
    std::vector<std::string> examples;
    std::set<std::string> seen;
    auto add = [&](std::string example) {
        if (example.empty() || examples.size() >= max_usage_examples || !seen.insert(example).second) return;
        examples.push_back(std::move(example));
    };

    const auto [marker, marker_size] = find_example_marker(usage);
    std::string synopsis(usage.substr(0, marker));
    if (marker != std::string::npos) {
        for (const std::string& part : split_top_level(usage.substr(marker + marker_size), ','))
            for (const std::string& piece : split_top_level(part, ';')) add(literal_example(piece, plugin_name));
    }

    synopsis = remove_parenthesised(synopsis);
    erase_all(synopsis, "...");
    synopsis = strip_plugin_name(synopsis, plugin_name);
    // "calc EXPR, e.g. 1+2": the punctuation before the marker is not syntax.
    while (!synopsis.empty() && (synopsis.back() == ',' || synopsis.back() == ';' || synopsis.back() == ':'))
        synopsis = trim(synopsis.substr(0, synopsis.size() - 1));
    const std::vector<ValueSet> sets = value_sets();
    for (const std::string& alternative : split_top_level(synopsis, '|')) {
        for (const std::string& shape : shapes_of(alternative)) {
            const std::vector<Placeholder> placeholders = placeholders_in(shape);
            const bool has_words = std::any_of(placeholders.begin(), placeholders.end(),
                                               [](const Placeholder& p) { return !is_numeric_name(p.name); });
            for (const ValueSet& set : sets) {
                if (set.only_with_words && !has_words) continue;
                add(substitute(shape, placeholders, &set));
                if (placeholders.empty()) break;  // one payload is enough
            }
            add(substitute(shape, placeholders, nullptr));
        }
    }
    return examples;
}

}  // namespace portico::plugin_check
