#include "backend/s3/s3_xml.h"

#include <pugixml.hpp>

#include <charconv>

namespace lifeboat {
namespace {

Status ParseDocument(pugi::xml_document* doc, std::string_view xml, std::string_view what) {
  pugi::xml_parse_result r = doc->load_buffer(xml.data(), xml.size());
  if (!r) {
    return Status::IOError(std::string(what) + ": the server's answer is not XML (" +
                           r.description() + ")");
  }
  return Status::Ok();
}

Status UnexpectedRoot(std::string_view what, std::string_view want, const pugi::xml_node& root) {
  return Status::IOError(std::string(what) + ": expected an S3 " + std::string(want) +
                         " document, got <" + root.name() + ">");
}

bool IsTrue(const pugi::xml_node& n) { return std::string_view(n.child_value()) == "true"; }

}  // namespace

Result<S3ListPage> ParseListObjectsV2(std::string_view xml, std::string_view what) {
  pugi::xml_document doc;
  LB_RETURN_IF_ERROR(ParseDocument(&doc, xml, what));
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return UnexpectedRoot(what, "ListBucketResult", doc.first_child());
  S3ListPage page;
  for (pugi::xml_node c : root.children("Contents")) {
    S3ListedObject o;
    o.key = c.child_value("Key");
    std::string_view size = c.child_value("Size");
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
    if (o.key.empty() || ec != std::errc() || end != size.data() + size.size()) {
      return Status::IOError(std::string(what) + ": a listed object has no key or no size");
    }
    page.objects.push_back(std::move(o));
  }
  page.truncated = IsTrue(root.child("IsTruncated"));
  page.next_continuation_token = root.child_value("NextContinuationToken");
  if (page.truncated && page.next_continuation_token.empty()) {
    return Status::IOError(std::string(what) +
                           ": the listing is truncated but has no NextContinuationToken");
  }
  return page;
}

Result<S3UploadsPage> ParseListMultipartUploads(std::string_view xml, std::string_view what) {
  pugi::xml_document doc;
  LB_RETURN_IF_ERROR(ParseDocument(&doc, xml, what));
  pugi::xml_node root = doc.child("ListMultipartUploadsResult");
  if (!root) return UnexpectedRoot(what, "ListMultipartUploadsResult", doc.first_child());
  S3UploadsPage page;
  for (pugi::xml_node u : root.children("Upload")) {
    page.uploads.push_back(S3Upload{u.child_value("Key"), u.child_value("UploadId")});
  }
  page.truncated = IsTrue(root.child("IsTruncated"));
  page.next_key_marker = root.child_value("NextKeyMarker");
  page.next_upload_id_marker = root.child_value("NextUploadIdMarker");
  return page;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view xml, std::string_view what) {
  pugi::xml_document doc;
  LB_RETURN_IF_ERROR(ParseDocument(&doc, xml, what));
  pugi::xml_node root = doc.child("InitiateMultipartUploadResult");
  if (!root) return UnexpectedRoot(what, "InitiateMultipartUploadResult", doc.first_child());
  std::string id = root.child_value("UploadId");
  if (id.empty()) return Status::IOError(std::string(what) + ": no UploadId in the answer");
  return id;
}

S3ErrorDocument ParseS3Error(std::string_view xml) {
  pugi::xml_document doc;
  if (xml.empty() || !doc.load_buffer(xml.data(), xml.size())) return {};
  pugi::xml_node root = doc.child("Error");
  if (!root) return {};
  return S3ErrorDocument{root.child_value("Code"), root.child_value("Message")};
}

std::string CompleteMultipartUploadXml(const std::vector<std::string>& etags) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text() = static_cast<unsigned long long>(i + 1);
    part.append_child("ETag").text() = etags[i].c_str();
  }
  struct Writer : pugi::xml_writer {
    std::string out;
    void write(const void* data, size_t size) override {
      out.append(static_cast<const char*>(data), size);
    }
  } writer;
  doc.save(writer, "", pugi::format_raw | pugi::format_no_declaration);
  return writer.out;
}

}  // namespace lifeboat
