/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pinpage

#if !defined(_TRACE_PINPAGE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_PINPAGE_H

#include <linux/mm.h>
#include <linux/pinpage.h>
#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(pinpage_record,
		    TP_PROTO(struct folio *folio, struct pinpage_owner *owner,
			     unsigned int count),
		    TP_ARGS(folio, owner, count),
		    TP_STRUCT__entry(__field(unsigned long, pfn)
				     __field(const void *, owner)
				     __string(kind, owner->ops->name)
				     __field(unsigned int, count)),
		    TP_fast_assign(__entry->pfn = folio_pfn(folio);
				   __entry->owner = owner;
				   __assign_str(kind);
				   __entry->count = count;),
		    TP_printk("pfn=0x%lx owner=%p kind=%s count=%u", __entry->pfn,
			      __entry->owner, __get_str(kind), __entry->count)
);

DEFINE_EVENT(pinpage_record, pinpage_add,
	     TP_PROTO(struct folio *folio, struct pinpage_owner *owner,
		      unsigned int count),
	     TP_ARGS(folio, owner, count));

DEFINE_EVENT(pinpage_record, pinpage_drop,
	     TP_PROTO(struct folio *folio, struct pinpage_owner *owner,
		      unsigned int count),
	     TP_ARGS(folio, owner, count));

/* An owner's answer: ->isolate(), or ->copy() of an owner that copies. */
DECLARE_EVENT_CLASS(pinpage_answer,
		    TP_PROTO(struct folio *folio, struct pinpage_owner *owner,
			     int ret),
		    TP_ARGS(folio, owner, ret),
		    TP_STRUCT__entry(__field(unsigned long, pfn)
				     __field(const void *, owner)
				     __string(kind, owner->ops->name)
				     __field(int, ret)),
		    TP_fast_assign(__entry->pfn = folio_pfn(folio);
				   __entry->owner = owner;
				   __assign_str(kind);
				   __entry->ret = ret;),
		    TP_printk("pfn=0x%lx owner=%p kind=%s ret=%d", __entry->pfn,
			      __entry->owner, __get_str(kind), __entry->ret)
);

DEFINE_EVENT(pinpage_answer, pinpage_isolate,
	     TP_PROTO(struct folio *folio, struct pinpage_owner *owner, int ret),
	     TP_ARGS(folio, owner, ret));

DEFINE_EVENT(pinpage_answer, pinpage_copy,
	     TP_PROTO(struct folio *folio, struct pinpage_owner *owner, int ret),
	     TP_ARGS(folio, owner, ret));

TRACE_EVENT(pinpage_putback,
	    TP_PROTO(struct folio *folio, struct pinpage_owner *owner,
		     bool failed),
	    TP_ARGS(folio, owner, failed),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(const void *, owner)
			     __field(bool, failed)),
	    TP_fast_assign(__entry->pfn = folio_pfn(folio);
			   __entry->owner = owner;
			   __entry->failed = failed;),
	    TP_printk("pfn=0x%lx owner=%p %s", __entry->pfn, __entry->owner,
		      __entry->failed ? "failed" : "migrated")
);

TRACE_EVENT(pinpage_migrate,
	    TP_PROTO(struct folio *src, struct folio *dst, unsigned long pins,
		     unsigned int owners),
	    TP_ARGS(src, dst, pins, owners),
	    TP_STRUCT__entry(__field(unsigned long, src_pfn)
			     __field(unsigned long, dst_pfn)
			     __field(unsigned long, pins)
			     __field(unsigned int, owners)
			     __field(unsigned int, order)),
	    TP_fast_assign(__entry->src_pfn = folio_pfn(src);
			   __entry->dst_pfn = folio_pfn(dst);
			   __entry->pins = pins;
			   __entry->owners = owners;
			   __entry->order = folio_order(src);),
	    TP_printk("src_pfn=0x%lx dst_pfn=0x%lx order=%u pins=%lu owners=%u",
		      __entry->src_pfn, __entry->dst_pfn, __entry->order,
		      __entry->pins, __entry->owners)
);

/* A bounded owner held off an offline or a CMA allocation for too long. */
TRACE_EVENT(pinpage_revoked,
	    TP_PROTO(struct folio *folio, struct pinpage_owner *owner,
		     unsigned int ms),
	    TP_ARGS(folio, owner, ms),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(const void *, owner)
			     __string(kind, owner->ops->name)
			     __field(unsigned int, ms)),
	    TP_fast_assign(__entry->pfn = folio_pfn(folio);
			   __entry->owner = owner;
			   __assign_str(kind);
			   __entry->ms = ms;),
	    TP_printk("pfn=0x%lx owner=%p kind=%s refused_for=%ums",
		      __entry->pfn, __entry->owner, __get_str(kind),
		      __entry->ms)
);

TRACE_EVENT(pinpage_unowned,
	    TP_PROTO(struct folio *folio),
	    TP_ARGS(folio),
	    TP_STRUCT__entry(__field(unsigned long, pfn)
			     __field(int, refcount)),
	    TP_fast_assign(__entry->pfn = folio_pfn(folio);
			   __entry->refcount = folio_ref_count(folio);),
	    TP_printk("pfn=0x%lx refcount=%d", __entry->pfn, __entry->refcount)
);

#endif /* _TRACE_PINPAGE_H */

#include <trace/define_trace.h>
