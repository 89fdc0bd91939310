#include "wire_format.hpp"

#include "reply_scanner.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace portico::bench {

std::string WireFormat::make(WireForm form, std::string const& plugin, std::string const& payload, WireFormat& out)
{
    out.form_ = form;
    if (form == WireForm::shorthand) {
        out.prefix_ = plugin + " " + payload;
        out.suffix_.clear();
        return {};
    }
    try {
        // nlohmann's dump() gives correct JSON string escaping.
        out.prefix_ = R"({"id":)";
        out.suffix_ = R"(,"plugin":)" + nlohmann::json(plugin).dump() + R"(,"payload":)" +
                      nlohmann::json(payload).dump() + "}";
    } catch (nlohmann::json::exception const& e) {
        return std::string("cannot encode the request: ") + e.what();
    }
    return {};
}

void WireFormat::append_request(std::string& out, std::uint64_t id) const
{
    out += prefix_;
    if (form_ == WireForm::shorthand)
        return;
    char digits[24];
    auto const end = std::to_chars(digits, digits + sizeof digits, id).ptr;
    out.append(digits, end);
    out += suffix_;
}

ReplyCheck WireFormat::check_reply(std::string_view text) const
{
    ReplyCheck check;
    if (form_ == WireForm::shorthand) {
        check.verdict = text.substr(0, 6) == "error:" ? ReplyVerdict::failed : ReplyVerdict::good;
        return check;
    }
    bool const want_ok = form_ == WireForm::envelope;
    ReplyFields fields;
    if (!read_reply_fields(text, want_ok, fields) || !fields.has_id)
        return check;  // malformed
    check.has_id = true;
    check.id = fields.id;
    if (!want_ok)
        check.verdict = ReplyVerdict::good;
    else
        check.verdict = fields.has_ok && fields.ok ? ReplyVerdict::good : ReplyVerdict::failed;
    return check;
}

}  // namespace portico::bench
