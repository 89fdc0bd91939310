#include "reply_scanner.hpp"

#include <nlohmann/json.hpp>

namespace portico::bench {
namespace {

class Scanner {
public:
    explicit Scanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    bool at_end() const { return p_ == end_; }
    char peek() const { return *p_; }

    void skip_space()
    {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
            ++p_;
    }

    bool eat(char c)
    {
        if (p_ == end_ || *p_ != c)
            return false;
        ++p_;
        return true;
    }

    bool eat_word(std::string_view word)
    {
        if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
            return false;
        p_ += word.size();
        return true;
    }

    // A key without escapes; anything else makes the scan unsure.
    bool plain_string(std::string_view& out)
    {
        if (!eat('"'))
            return false;
        char const* start = p_;
        while (p_ != end_ && *p_ != '"') {
            if (*p_ == '\\')
                return false;
            ++p_;
        }
        if (p_ == end_)
            return false;
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return true;
    }

    // A non-negative integer that fits 64 bits; fractions and exponents are refused.
    bool unsigned_integer(std::uint64_t& out)
    {
        if (p_ == end_ || *p_ < '0' || *p_ > '9')
            return false;
        if (*p_ == '0' && p_ + 1 != end_ && p_[1] >= '0' && p_[1] <= '9')
            return false;
        std::uint64_t value = 0;
        int digits = 0;
        while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
            if (++digits > 19)
                return false;
            value = value * 10 + static_cast<std::uint64_t>(*p_ - '0');
            ++p_;
        }
        if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E'))
            return false;
        out = value;
        return true;
    }

    // Skips one value of any kind; only structure is checked, not content.
    bool skip_value()
    {
        if (p_ == end_)
            return false;
        if (*p_ == '"')
            return skip_string();
        if (*p_ == '{' || *p_ == '[') {
            int depth = 0;
            while (p_ != end_) {
                char const c = *p_;
                if (c == '"') {
                    if (!skip_string())
                        return false;
                    continue;
                }
                ++p_;
                if (c == '{' || c == '[')
                    ++depth;
                else if ((c == '}' || c == ']') && --depth == 0)
                    return true;
            }
            return false;
        }
        char const* start = p_;
        while (p_ != end_ && *p_ != ',' && *p_ != '}' && *p_ != ']' && *p_ != ' ' && *p_ != '\n' &&
               *p_ != '\r' && *p_ != '\t')
            ++p_;
        return p_ != start;
    }

private:
    bool skip_string()
    {
        ++p_;  // opening quote
        while (p_ != end_) {
            if (*p_ == '\\') {
                if (++p_ == end_)
                    return false;
            } else if (*p_ == '"') {
                ++p_;
                return true;
            }
            ++p_;
        }
        return false;
    }

    char const* p_;
    char const* end_;
};

}  // namespace

bool scan_reply_fields(std::string_view text, bool want_ok, ReplyFields& out)
{
    out = ReplyFields{};
    Scanner s(text);
    s.skip_space();
    if (!s.eat('{'))
        return false;
    s.skip_space();
    if (s.eat('}'))
        return true;
    for (;;) {
        std::string_view key;
        if (!s.plain_string(key))
            return false;
        s.skip_space();
        if (!s.eat(':'))
            return false;
        s.skip_space();
        if (key == "id") {
            if (out.has_id || !s.unsigned_integer(out.id))
                return false;
            out.has_id = true;
        } else if (key == "ok") {
            if (out.has_ok)
                return false;
            if (s.eat_word("true"))
                out.ok = true;
            else if (s.eat_word("false"))
                out.ok = false;
            else
                return false;
            out.has_ok = true;
        } else if (!s.skip_value()) {
            return false;
        }
        if (out.has_id && (out.has_ok || !want_ok))
            return true;  // the rest (often the bulky result) need not be read
        s.skip_space();
        if (s.eat('}'))
            return true;
        if (!s.eat(','))
            return false;
        s.skip_space();
    }
}

bool parse_reply_fields(std::string_view text, ReplyFields& out)
{
    out = ReplyFields{};
    auto const doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object())
        return false;
    if (auto const id = doc.find("id"); id != doc.end() && id->is_number_integer() && *id >= 0) {
        out.has_id = true;
        out.id = id->get<std::uint64_t>();
    }
    if (auto const ok = doc.find("ok"); ok != doc.end()) {
        out.has_ok = true;
        out.ok = ok->is_boolean() && ok->get<bool>();
    }
    return true;
}

bool read_reply_fields(std::string_view text, bool want_ok, ReplyFields& out)
{
    return scan_reply_fields(text, want_ok, out) || parse_reply_fields(text, out);
}

}  // namespace portico::bench
