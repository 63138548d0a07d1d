"""The upload of a document, as the review, emergency and intake workflows record it: the update
`record_document` notes it in the file's journal (its id, material type, the documents it superseded and who
uploaded it; never the content), once per document id, and refuses once the file is closed or from staff the
relatives check barred. A new handler: no workflow.patched is needed."""

from __future__ import annotations

from temporalio import workflow

from workflows.common import refuse
from workflows.journal import Journal

with workflow.unsafe.imports_passed_through():
    from schemas.documents import DOCUMENT_RECORDED, RECORD_DOCUMENT, DocumentAck, DocumentRecorded


class RecordsDocuments:
    """Mixed into a workflow that has a `journal` and says whether it `accepts_documents`."""

    journal: Journal

    def accepts_documents(self) -> bool:
        raise NotImplementedError

    def documents_ready(self) -> bool:
        """Whether the file's row exists, so that its journal can be written (an entry of a file not yet
        recorded would be dropped): a workflow whose row is written by its first activity says when."""
        return True

    def documents_recorded(self) -> dict[str, str]:
        """Document id -> its journal entry's key."""
        if not hasattr(self, "_documents_recorded"):
            self._documents_recorded: dict[str, str] = {}
        return self._documents_recorded

    @workflow.update(name=RECORD_DOCUMENT)
    async def record_document(self, d: DocumentRecorded) -> DocumentAck:
        await workflow.wait_condition(self.documents_ready)
        recorded = self.documents_recorded()
        if d.document_id not in recorded:
            replaced = f"（替换此前的同类材料 {len(d.supersedes)} 份）" if d.supersedes else ""
            recorded[d.document_id] = self.journal.note(
                DOCUMENT_RECORDED,
                d.uploader,
                {"document_id": d.document_id, "doc_type": d.doc_type, "supersedes": d.supersedes},
                f"上传材料：{d.type_name}（编号 {d.document_id}）{replaced}",
            )
            await self.journal.persist()
        return DocumentAck(log_key=recorded[d.document_id])

    @record_document.validator
    def _v_record_document(self, d: DocumentRecorded) -> None:
        if d.document_id in self.documents_recorded():
            return
        if not self.accepts_documents():
            raise refuse("closed", "已办结，不能再上传材料")
        if d.uploader.username in getattr(self, "barred", {}):
            raise refuse("recused", "您与申请人家庭存在近亲属关系，依规应当回避，不能为其上传材料")
